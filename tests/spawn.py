"""Start ``python -m MODULE ...`` servers as forks of this worker's zygote (tests/zygote.py).

`spawn` takes what `subprocess.Popen` took at the suite's server starts and
returns a `subprocess.Popen[bytes]`: a `ForkedProcess` when the zygote can run
the command, a plain `Popen` when it cannot (another interpreter, options
other than ``-m``, an environment whose interpreter settings differ from the
zygote's, HC_TESTS_NO_ZYGOTE=1, or a zygote that failed). A forked server
costs ~10 ms of CPU to start where a fresh interpreter cost 0.7-1.5 s.

A `ForkedProcess` is not this process's child: its exit status comes from the
zygote, which reaps it, down a pipe of its own; signals go through a pidfd, so
one sent after the server was reaped reaches nothing (as a `Popen`'s does).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any

_ZYGOTE = Path(__file__).with_name("zygote.py")
_BOOT = "import runpy, sys; runpy.run_path(sys.argv[1], run_name='__main__')"
#: How long the zygote may take to import everything, on a busy machine.
_READY_TIMEOUT = 120
_MAX_MESSAGE = 1 << 20
#: The worker's environment and directory as it started, before any test changed
#: them: the zygote starts with these, whichever test first needs it.
_BASE_ENV, _BASE_CWD = dict(os.environ), os.getcwd()


def startup_settings(env: Mapping[str, str]) -> dict[str, str]:
    """The variables an interpreter reads once, at start (or a preloaded module at import).

    A forked child keeps what the zygote made of them, so a child whose
    variables differ must be a fresh interpreter. PYTHONUNBUFFERED is the
    exception: the child builds its stdio from it (tests.zygote.become).
    """
    read_once = ("PYTHON", "LC_", "LANG", "PSYCOPG", "PYDANTIC")
    return {
        name: value
        for name, value in env.items()
        if name.startswith(read_once) and name != "PYTHONUNBUFFERED"
    }


class ForkedProcess(subprocess.Popen[bytes]):
    """A server forked by the zygote, with a `Popen`'s poll, wait and signals."""

    def __init__(self, args: Sequence[str], pid: int, pidfd: int, status_fd: int) -> None:
        # Not Popen.__init__: it would start the process. These are the
        # attributes the Popen methods not overridden here read.
        self.args = list(args)
        self.pid = pid
        self.returncode: int | Any = None
        self.stdin = self.stdout = self.stderr = None
        self._child_created = False  # Popen.__del__: nothing of ours to reap
        self._pidfd = pidfd
        self._status_fd: int | None = status_fd
        self._lock = threading.Lock()

    def _read_status(self) -> None:
        """The exit status, once the pipe is readable (the lock held)."""
        assert self._status_fd is not None
        data = os.read(self._status_fd, 4)
        if len(data) == 4:
            (self.returncode,) = struct.unpack("i", data)
        else:
            # The zygote died before reaping it; the child dies of its
            # PR_SET_PDEATHSIG (SIGKILL): wait for it to be gone.
            select.select([self._pidfd], [], [])
            self.returncode = -signal.SIGKILL
        os.close(self._status_fd)
        self._status_fd = None

    def poll(self) -> int | Any:
        if self.returncode is None and self._lock.acquire(blocking=False):
            try:
                if self._status_fd is not None and select.select([self._status_fd], [], [], 0)[0]:
                    self._read_status()
            finally:
                self._lock.release()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            if not self._lock.acquire(timeout=-1 if timeout is None else timeout):
                raise subprocess.TimeoutExpired(self.args, timeout or 0)
            try:
                if self._status_fd is not None:
                    if not select.select([self._status_fd], [], [], timeout)[0]:
                        raise subprocess.TimeoutExpired(self.args, timeout or 0)
                    self._read_status()
            finally:
                self._lock.release()
        assert isinstance(self.returncode, int)
        return self.returncode

    def send_signal(self, sig: int) -> None:
        self.poll()
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError):  # reaped since: as Popen, nothing
                signal.pidfd_send_signal(self._pidfd, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def communicate(
        self, input: Any = None, timeout: float | None = None
    ) -> tuple[Any, Any]:  # Popen's name
        if input is not None:
            raise ValueError("a forked server has no stdin pipe")
        self.wait(timeout)
        return None, None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.wait()

    def __del__(self) -> None:
        for fd in (self._status_fd, self._pidfd):
            if fd is not None:
                os.close(fd)
        self._status_fd = None


class Zygote:
    """This worker's fork server: started on first use, ended with the worker."""

    def __init__(self, *, preload: bool = True) -> None:
        """`preload` False: import nothing first (for tests of the zygote itself)."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.settings = startup_settings(_BASE_ENV)
        self.process = subprocess.Popen(
            [sys.executable, "-c", _BOOT, str(_ZYGOTE), str(theirs.fileno())]
            + ([] if preload else ["--bare"]),
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            env=_BASE_ENV,
            cwd=_BASE_CWD,
        )
        theirs.close()
        self.control = ours
        self.lock = threading.Lock()
        ours.settimeout(_READY_TIMEOUT)
        try:
            answer = json.loads(ours.recv(_MAX_MESSAGE) or b'{"error": "it exited"}')
        finally:
            ours.settimeout(None)
        if "error" in answer:
            self.close()
            raise RuntimeError(f"the zygote did not start: {answer['error']}")
        self.preloaded: list[str] = answer["ready"]

    def fork(
        self, module: str, args: Sequence[str], env: Mapping[str, str], cwd: str, out: int, err: int
    ) -> ForkedProcess:
        request = {"module": module, "args": list(args), "env": dict(env), "cwd": cwd}
        with self.lock:
            socket.send_fds(self.control, [json.dumps(request).encode()], [out, err])
            message, fds, _, _ = socket.recv_fds(self.control, _MAX_MESSAGE, 2)
        if not message:
            raise OSError("the zygote closed its socket")
        answer = json.loads(message)
        if "error" in answer:
            raise OSError(answer["error"])
        pidfd, status_fd = fds
        return ForkedProcess([sys.executable, "-m", module, *args], answer["pid"], pidfd, status_fd)

    def close(self) -> None:
        """Close the control socket: the zygote kills what it still runs and exits."""
        self.control.close()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


_zygote: Zygote | None = None
_broken = False
_starting = threading.Lock()


def zygote() -> Zygote | None:
    """This worker's zygote, started if need be; None if it cannot be had."""
    global _zygote, _broken  # one per process, made on first use
    with _starting:
        if _zygote is None and not _broken:
            try:
                _zygote = Zygote()
            except (OSError, RuntimeError) as error:
                _broken = True
                print(
                    f"tests.spawn: no zygote, servers start as processes: {error}", file=sys.stderr
                )
            else:
                atexit.register(_zygote.close)
        return _zygote


def _fd(stream: IO[Any] | int) -> int:
    return stream if isinstance(stream, int) else stream.fileno()


def spawn(
    command: Sequence[str],
    *,
    stdout: IO[Any] | int,
    stderr: IO[Any] | int,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
) -> subprocess.Popen[bytes]:
    """``subprocess.Popen(command, stdout=, stderr=, env=, cwd=)``, forked by the zygote if it can.

    `stdout` and `stderr` are open files (or descriptors); `stderr` may be
    `subprocess.STDOUT`; `env` None is this process's environment.
    """
    env = dict(os.environ if env is None else env)
    plain = len(command) < 3 or command[0] != sys.executable or command[1] != "-m"
    piped = stdout in (-1, -2, -3) or stderr in (-1, -3)
    if plain or piped or os.environ.get("HC_TESTS_NO_ZYGOTE") == "1":
        return subprocess.Popen(command, stdout=stdout, stderr=stderr, env=env, cwd=cwd)
    forker = zygote()
    if forker is None or startup_settings(env) != forker.settings:
        return subprocess.Popen(command, stdout=stdout, stderr=stderr, env=env, cwd=cwd)
    out = _fd(stdout)
    err = out if stderr == subprocess.STDOUT else _fd(stderr)
    where = os.path.abspath(cwd if cwd is not None else os.getcwd())
    try:
        return forker.fork(command[2], command[3:], env, where, out, err)
    except OSError as error:
        print(f"tests.spawn: the zygote failed ({error}); starting a process", file=sys.stderr)
        return subprocess.Popen(command, stdout=stdout, stderr=stderr, env=env, cwd=cwd)
