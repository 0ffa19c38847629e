"""A fork server: ``python -m MODULE ARGS`` runs for the price of a fork, not of the imports.

    python -c 'import runpy, sys; runpy.run_path(...)' tests/zygote.py FD [--bare]

(started by tests.spawn, one per test worker, holding the other end of socket FD;
``--bare``: preload nothing, for tests of the zygote itself).

Theory of operation. Each server a test starts used to be a fresh interpreter
paying 0.7-1.5 s of CPU to import fastapi, sqlalchemy, uvicorn, flask and the
service before doing anything; the suite starts some 600. This process imports
those once (`PRELOAD`: only modules whose import reads no environment and
starts no thread), then waits on its control socket (a SOCK_SEQPACKET pair
whose other end the test worker holds). Each request names a module, its
arguments, its whole environment and its directory, and carries the files for
its stdout and stderr (SCM_RIGHTS). The zygote forks; the child drops
everything that was the zygote's (its sockets, its signal handlers, its
stdio, its environment, its directory, `__main__`) and runs the module as
``python -m`` would: `runpy.run_module(..., run_name="__main__",
alter_sys=True)`, ending as that interpreter would (a traceback and 1, the
SystemExit's code, death by SIGINT on an uncaught KeyboardInterrupt).

The answer to a request is the child's pid and two descriptors: a pidfd (the
worker signals through it, so a reaped pid never reaches another process)
and the read end of a pipe on which the zygote writes the child's exit
status (`os.waitstatus_to_exitcode`, 4 bytes) when it reaps it. Nothing here
runs a thread or an event loop, so every fork is of a single-threaded process.

Workers. ``serve --workers N`` has uvicorn start each worker with
multiprocessing's "spawn": a fresh interpreter importing everything again (a
second of CPU a worker, and a resource tracker besides). A request whose
environment holds ``HC_TESTS_FORK_WORKERS=1`` (tests.servers.start_service's
`fork_workers`) has uvicorn fork its workers from the server process instead,
which has imported the service already; the variable is dropped before the
module runs. Tests of how workers are started (spawned, pickled, imported
anew) leave it unset: most of the suite does.

A child ends as the interpreter would, but for its last step, the teardown
of every module (`exit_without_teardown`): in a fork, that copies every page
shared with the zygote.

Ending: when the worker's end of the control socket closes (the worker ended,
however it ended) the zygote kills and reaps its remaining children and
exits; each child also has PR_SET_PDEATHSIG(SIGKILL), so if the zygote itself
is killed its children do not outlive it.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import gc
import importlib
import io
import json
import os
import runpy
import select
import signal
import socket
import struct
import sys
import threading
import time
import traceback
from typing import Any

#: Imported before any fork. Each reads no environment and starts no thread
#: at import (checked: the zygote refuses to serve if a thread is running).
PRELOAD = (
    "asyncio",
    "multiprocessing",
    "sqlite3",
    "httpx",
    "pydantic",
    "starlette.applications",
    "fastapi",
    "uvicorn",
    "uvicorn.main",
    "uvicorn.config",
    "uvicorn.server",
    "uvicorn.lifespan.on",
    "uvicorn.protocols.http.h11_impl",
    "uvicorn.protocols.http.httptools_impl",
    "uvicorn.protocols.websockets.auto",
    "uvicorn.supervisors",
    "sqlalchemy",
    "sqlalchemy.orm",
    "sqlalchemy.ext.asyncio",
    "psycopg",
    "redis",
    "flask",
    "werkzeug",
    "werkzeug.serving",
    "httpconflict",
    "httpconflict.cli",
    "httpconflict.service.app",
    "httpconflict.service.protocol",
    "httpconflict.fastapi",
    "httpconflict.flask",
    "httpconflict.sqlalchemy",
)

#: In a request's environment: uvicorn forks the server's workers (see above).
FORK_WORKERS = "HC_TESTS_FORK_WORKERS"

#: The most a request takes (its environment is most of it).
MAX_MESSAGE = 1 << 20
PR_SET_PDEATHSIG = 1


def preload() -> list[str]:
    """Import `PRELOAD` (what is missing is skipped); the names imported."""
    done = []
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:
            continue
        done.append(name)
    return done


def threads() -> int:
    """The threads this process runs, as the kernel counts them."""
    return len(os.listdir("/proc/self/task"))


class Zygote:
    """The serving loop: requests in, children out, their statuses back."""

    def __init__(self, control: socket.socket) -> None:
        self.control = control
        self.wakeup_r, self.wakeup_w = os.pipe()
        os.set_blocking(self.wakeup_w, False)
        #: pid -> the write end of the pipe its exit status goes to.
        self.status: dict[int, int] = {}

    def serve(self) -> tuple[dict[str, Any], list[int]] | None:
        """Serve until the control socket closes (None), or return a request in its child."""
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.set_wakeup_fd(self.wakeup_w)
        while True:
            ready, _, _ = select.select([self.control.fileno(), self.wakeup_r], [], [])
            if self.wakeup_r in ready:
                os.read(self.wakeup_r, 4096)
            self.reap()
            if self.control.fileno() not in ready:
                continue
            message, fds, _, _ = socket.recv_fds(self.control, MAX_MESSAGE, 2)
            if not message:
                self.end()
                return None
            request = json.loads(message)
            for stream in (sys.stdout, sys.stderr):
                stream.flush()
            status_r, status_w = os.pipe()
            try:
                pid = os.fork()
            except OSError as error:
                for fd in (*fds, status_r, status_w):
                    os.close(fd)
                self.control.send(json.dumps({"error": str(error)}).encode())
                continue
            if pid == 0:
                os.close(status_r)
                os.close(status_w)
                self.drop()
                return request, fds
            pidfd = os.pidfd_open(pid)
            self.status[pid] = status_w
            socket.send_fds(self.control, [json.dumps({"pid": pid}).encode()], [pidfd, status_r])
            for fd in (*fds, pidfd, status_r):
                os.close(fd)

    def reap(self) -> None:
        """Collect every ended child; send each one's status down its pipe."""
        while self.status:
            try:
                pid, wait_status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            status_w = self.status.pop(pid, None)
            if status_w is not None:
                os.write(status_w, struct.pack("i", os.waitstatus_to_exitcode(wait_status)))
                os.close(status_w)

    def end(self) -> None:
        """The worker is gone: so are the children it left running."""
        for pid in self.status:
            with contextlib.suppress(ProcessLookupError):  # ended, not yet reaped
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while self.status and time.monotonic() < deadline:
            self.reap()
            time.sleep(0.01)

    def drop(self) -> None:
        """In a child: close what was the zygote's, restore the signals it changed."""
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        self.control.close()
        for fd in (self.wakeup_r, self.wakeup_w, *self.status.values()):
            os.close(fd)
        self.status.clear()


def _stdio(fd: int, unbuffered: bool, *, stderr: bool) -> io.TextIOWrapper:
    """A new sys.stdout or sys.stderr on `fd`, as the interpreter makes it at start."""
    raw = io.FileIO(fd, "wb", closefd=False)
    binary: io.RawIOBase | io.BufferedWriter = raw if unbuffered else io.BufferedWriter(raw)
    old = sys.stderr if stderr else sys.stdout
    return io.TextIOWrapper(
        binary,  # type: ignore[arg-type]  # a FileIO is a binary stream, as -u makes it
        encoding=old.encoding,
        errors=old.errors,
        line_buffering=stderr and not unbuffered,
        write_through=unbuffered,
    )


def fork_workers() -> None:
    """Have uvicorn start its workers by forking this process, not as fresh interpreters."""
    import multiprocessing

    import uvicorn._subprocess

    # uvicorn looks its context up at each start (get_subprocess): its one "spawn".
    uvicorn._subprocess.spawn = multiprocessing.get_context("fork")  # type: ignore[assignment]  # a fork context starts the same Process API


def become(zygote_pid: int, request: dict[str, Any], fds: list[int]) -> None:
    """Turn this forked child into ``python -m request["module"] *request["args"]`` and run it."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != zygote_pid:  # the zygote ended before the prctl
        os._exit(1)
    stdout_fd, stderr_fd = fds
    os.dup2(stdout_fd, 1)
    os.dup2(stderr_fd, 2)
    for fd in set(fds):
        os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    if os.environ.pop(FORK_WORKERS, "") == "1":
        fork_workers()
    time.tzset()
    unbuffered = bool(os.environ.get("PYTHONUNBUFFERED"))
    sys.stdout = _stdio(1, unbuffered, stderr=False)
    sys.stderr = _stdio(2, unbuffered, stderr=True)
    # The originals, as at start (typeshed calls them final: they are, to a program).
    setattr(sys, "__stdout__", sys.stdout)  # noqa: B010
    setattr(sys, "__stderr__", sys.stderr)  # noqa: B010
    # `python -m` puts the directory it starts in first on the path.
    sys.path[0] = os.getcwd()
    importlib.invalidate_caches()
    module, args = request["module"], request["args"]
    sys.argv = ["-m", *args]
    sys.orig_argv = [sys.executable, "-m", module, *args]
    if "multiprocessing" in sys.modules:  # a fresh process draws its own key
        import multiprocessing.process

        multiprocessing.process.current_process().authkey = os.urandom(32)
    # The module runs as on a first import, not as the one the zygote imported
    # (runpy warns of that). A package's __main__, that is: the package itself
    # stays, with the submodules the zygote imported as its attributes.
    imported = sys.modules.get(module)
    sys.modules.pop(module + ".__main__" if hasattr(imported, "__path__") else module, None)
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except SystemExit as ended:
        code = ended.code
    else:
        code = None
    exit_without_teardown(code)


def exit_without_teardown(code: object) -> None:
    """End as the interpreter ends on ``SystemExit(code)``, all but its teardown of the modules.

    That teardown, and the collection of the whole heap that comes with it,
    writes to every object: each page the child shares with the zygote is
    copied (0.3-1 s of CPU a server stop, 4 s of wall on a busy machine), for
    nothing a test reads; a fresh interpreter's pages are its own. What the
    interpreter does before it (Py_FinalizeEx) is done as it does it: wait for
    the threads that are no daemons, run the atexit callbacks, flush the
    streams (stdout failing to: "Exception ignored", status 120); a code that
    is no int is printed (status 1).
    """
    threading._shutdown()  # type: ignore[attr-defined]  # Py_FinalizeEx's first step
    atexit._run_exitfuncs()
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:
        print(code, file=sys.stderr)
        status = 1
    try:
        sys.stdout.flush()
    except Exception:  # as the interpreter reports it (flush_std_files)
        print(f"Exception ignored in: {sys.stdout!r}", file=sys.stderr)
        traceback.print_exc()
        status = 120
    with contextlib.suppress(Exception):  # the interpreter too says nothing of stderr's
        sys.stderr.flush()
    os._exit(status & 0xFF)


def main() -> None:
    control = socket.socket(fileno=int(sys.argv[2]))
    # Ctrl-C reaches the servers themselves (same process group); the zygote
    # outlives it until the worker closes the control socket.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    loaded = [] if "--bare" in sys.argv else preload()
    if threading.active_count() != 1 or threads() != 1:
        control.send(json.dumps({"error": f"{threads()} threads after the imports"}).encode())
        return
    # The imported objects are shared with every child: no collection of theirs
    # touches (and so copies) the pages they are on.
    gc.collect()
    gc.freeze()
    control.send(json.dumps({"ready": loaded, "pid": os.getpid()}).encode())
    zygote_pid = os.getpid()
    forked = Zygote(control).serve()
    if forked is None:
        return
    request, fds = forked
    become(zygote_pid, request, fds)


if __name__ == "__main__":
    main()
