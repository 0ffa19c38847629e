"""Servers forked by the zygote (tests/spawn.py) behave as `python -m` processes from Popen."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import answer_status, free_port, start_app, stop, wait_until_up
from tests.spawn import ForkedProcess, Zygote, spawn

#: A module that reports what a fresh interpreter would show it, then does as told.
PROBE = """\
import asyncio, json, os, signal, sys, threading
report = {
    "argv": sys.argv[1:],
    "cwd": os.getcwd(),
    "path0": sys.path[0],
    "env": dict(os.environ),
    "threads": len(os.listdir("/proc/self/task")),
    "fds": sorted(int(fd) for fd in os.listdir("/proc/self/fd")),
    "sigint": signal.getsignal(signal.SIGINT) is signal.default_int_handler,
    "sigchld": signal.getsignal(signal.SIGCHLD) == signal.SIG_DFL,
    "loop": asyncio.get_event_loop_policy()._local._loop is None,
    "main": __name__,
    "ppid_alive": os.path.exists(f"/proc/{os.getppid()}"),
}
print(json.dumps(report), flush=True)
print("to stderr", file=sys.stderr)
action = sys.argv[1]
if action == "exit":
    sys.exit(int(sys.argv[2]))
if action == "raise":
    raise ValueError("boom")
if action == "sleep":
    import time
    time.sleep(60)
if action == "exit-text":
    sys.exit("bye")
if action == "linger":
    import atexit, time
    atexit.register(lambda: print("atexit ran", flush=True))
    threading.Thread(target=lambda: (time.sleep(0.3), print("thread ended", flush=True))).start()
if action == "stdout-gone":
    print("never written")
    os.close(1)
"""


@pytest.fixture(autouse=True)
def zygote_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are of the zygote: they run it even where the suite runs without it."""
    monkeypatch.delenv("HC_TESTS_NO_ZYGOTE", raising=False)


@pytest.fixture
def probe(tmp_path: Path) -> Path:
    (tmp_path / "zygote_probe.py").write_text(PROBE)
    return tmp_path


def run(probe: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    with (probe / "out.log").open("wb") as out:
        return spawn(
            [sys.executable, "-m", "zygote_probe", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=probe,
        )


def report(probe: Path) -> dict[str, object]:
    first = (probe / "out.log").read_text().splitlines()[0]
    parsed: dict[str, object] = json.loads(first)
    return parsed


def wait_for_output(probe: Path) -> None:
    deadline = time.monotonic() + 30
    while "to stderr" not in (probe / "out.log").read_text():
        assert time.monotonic() < deadline, "the probe did not start"
        time.sleep(0.01)


def test_a_forked_module_sees_what_a_fresh_interpreter_would(probe: Path) -> None:
    """argv, cwd, sys.path[0], the environment as given, one thread, fds 0-2, default signals."""
    env = {**os.environ, "HC_ZYGOTE_PROBE": "yes"}
    process = run(probe, "exit", "7", env=env)
    assert isinstance(process, ForkedProcess)
    assert process.wait(timeout=30) == 7
    seen = report(probe)
    assert seen["argv"] == ["exit", "7"]
    assert seen["cwd"] == str(probe) == seen["path0"]
    assert seen["env"] == env
    assert seen["threads"] == 1
    assert seen["fds"] == [0, 1, 2, 3]  # 3: the listing's own
    assert seen["sigint"]
    assert seen["sigchld"]
    assert seen["loop"]
    assert seen["main"] == "__main__"
    assert "to stderr" in (probe / "out.log").read_text()


@pytest.mark.parametrize(
    ("args", "status"),
    [
        pytest.param(("exit", "0"), 0, id="exit-0"),
        pytest.param(("exit", "3"), 3, id="exit-3"),
        pytest.param(("raise",), 1, id="uncaught-exception"),
    ],
)
def test_the_exit_status_is_the_processs_own(
    probe: Path, args: tuple[str, ...], status: int
) -> None:
    """The status the zygote reaps is the one `python -m` would have ended with."""
    process = run(probe, *args)
    assert isinstance(process, ForkedProcess)
    assert process.wait(timeout=30) == status
    assert process.poll() == status
    if status == 1:
        assert "ValueError: boom" in (probe / "out.log").read_text()


@pytest.mark.parametrize(
    ("args", "status", "said"),
    [
        pytest.param(("exit-text",), 1, ["bye"], id="exit-with-text"),
        pytest.param(("linger",), 0, ["thread ended", "atexit ran"], id="threads-then-atexit"),
        pytest.param(("stdout-gone",), 120, ["Exception ignored"], id="stdout-flush-fails"),
    ],
)
def test_the_end_is_the_interpreters_without_its_teardown(
    probe: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    status: int,
    said: list[str],
) -> None:
    """A forked module ends as `python -m` does (it skips only the modules' teardown): the
    threads waited for, then atexit, stdout flushed; the same status and words as a process."""
    monkeypatch.delenv("PYTHONUNBUFFERED", raising=False)  # stdout buffered till the end
    for forked in (True, False):
        if not forked:
            monkeypatch.setenv("HC_TESTS_NO_ZYGOTE", "1")
        process = run(probe, *args)
        assert isinstance(process, ForkedProcess) is forked
        assert process.wait(timeout=30) == status, forked
        out = (probe / "out.log").read_text()
        found = [out.find(words) for words in said]
        assert -1 not in found, (forked, out)
        assert found == sorted(found), (forked, out)


@pytest.mark.parametrize(
    ("sig", "status"),
    [
        pytest.param(signal.SIGINT, -signal.SIGINT, id="sigint-keyboardinterrupt"),
        pytest.param(signal.SIGTERM, -signal.SIGTERM, id="sigterm"),
        pytest.param(signal.SIGKILL, -signal.SIGKILL, id="sigkill"),
    ],
)
def test_signals_reach_the_forked_process(probe: Path, sig: int, status: int) -> None:
    """poll is None while it runs, wait times out, a signal ends it with its own status."""
    process = run(probe, "sleep")
    assert isinstance(process, ForkedProcess)
    wait_for_output(probe)
    assert process.poll() is None
    with pytest.raises(subprocess.TimeoutExpired):
        process.wait(timeout=0.1)
    process.send_signal(sig)
    assert process.wait(timeout=30) == status
    process.kill()  # after the end: nothing, as with Popen
    assert process.returncode == status
    assert not Path(f"/proc/{process.pid}").exists()  # reaped: no zombie


def test_the_forked_process_cpu_is_its_own(probe: Path) -> None:
    """/proc/PID/stat of a forked server counts its own CPU only, not the zygote's imports."""
    process = run(probe, "sleep")
    try:
        wait_for_output(probe)
        fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12])  # utime + stime
        assert ticks / os.sysconf("SC_CLK_TCK") < 0.3
    finally:
        stop(process)


def test_a_forked_service_starts_for_a_fraction_of_the_cpu(tmp_path: Path) -> None:
    """`httpconflict serve` forked: up for under 0.35 s of CPU (a fresh one: 0.7-1.5 s)."""
    port = free_port()
    log = tmp_path / "serve.log"
    command = [sys.executable, "-m", "httpconflict.cli", "serve", "--db", str(tmp_path / "s.db")]
    with log.open("wb") as out:
        process = spawn([*command, "--port", str(port)], stdout=out, stderr=subprocess.STDOUT)
    try:
        assert isinstance(process, ForkedProcess)
        wait_until_up(f"http://127.0.0.1:{port}", process, log)
        fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        seconds = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        assert seconds < 0.35, f"{seconds} s of CPU to start"
    finally:
        stop(process)
    assert process.returncode == 0


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"HC_TESTS_NO_ZYGOTE": "1"}, id="turned-off"),
        pytest.param({"PYTHONHASHSEED": "1234"}, id="other-interpreter-settings"),
    ],
)
def test_what_the_zygote_cannot_run_starts_as_a_process(
    probe: Path, change: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """HC_TESTS_NO_ZYGOTE=1, or PYTHON* variables unlike the zygote's: a plain Popen."""
    env = {**os.environ, **change}
    if "HC_TESTS_NO_ZYGOTE" in change:
        monkeypatch.setenv("HC_TESTS_NO_ZYGOTE", "1")
    process = run(probe, "exit", "5", env=env)
    assert type(process) is subprocess.Popen
    assert process.wait(timeout=30) == 5
    assert report(probe)["env"] == env


@pytest.fixture
def private_zygote() -> Iterator[Zygote]:
    zygote = Zygote(preload=False)
    try:
        yield zygote
    finally:
        zygote.close()


def fork_sleeper(zygote: Zygote, probe: Path) -> ForkedProcess:
    with (probe / "out.log").open("wb") as out:
        fd = out.fileno()
        process = zygote.fork("zygote_probe", ["sleep"], dict(os.environ), str(probe), fd, fd)
    wait_for_output(probe)
    return process


def test_closing_the_zygote_ends_what_it_runs(private_zygote: Zygote, probe: Path) -> None:
    """The worker gone (its socket closed), the zygote kills its children, reaps them, exits."""
    process = fork_sleeper(private_zygote, probe)
    private_zygote.close()
    assert private_zygote.process.returncode == 0
    assert process.wait(timeout=10) == -signal.SIGKILL
    assert not Path(f"/proc/{process.pid}").exists()


def test_a_killed_zygote_takes_its_children_along(private_zygote: Zygote, probe: Path) -> None:
    """SIGKILL to the zygote: its children die of PR_SET_PDEATHSIG, and wait says so."""
    process = fork_sleeper(private_zygote, probe)
    private_zygote.process.kill()
    private_zygote.process.wait()
    # The status pipe closed unwritten: wait returned once the pidfd said it ended.
    assert process.wait(timeout=10) == -signal.SIGKILL


def test_a_preloaded_package_runs_as_python_m_package(tmp_path: Path) -> None:
    """``python -m uvicorn`` (a package the zygote imported): its __main__ runs, the package stays.

    Dropping the package itself made its second import lack the submodules
    the zygote had imported (``uvicorn.logging``): uvicorn exited with 1.
    """
    with start_app("tests.audit.jsonapi_strict_app:create_app", tmp_path, probe="/healthz") as url:
        assert answer_status(url + "/healthz") == 200
    assert "Traceback" not in "".join(p.read_text() for p in tmp_path.glob("app-*.log"))
