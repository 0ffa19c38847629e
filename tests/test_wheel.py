"""The built wheel, as a new user gets it: README's session, run as printed, in a fresh venv.

`make test` builds ``dist/`` (the sdist, and the wheel from it) before the
tests. This test installs that wheel with the ``service`` extra into a
new virtualenv and, as README.md says, runs ``httpconflict serve`` there
and the README's curl session as printed, comparing each answer with the
README's: its status line, each header field shown, and the body where one
is shown, byte for byte. It does so as a user who is not root (``nobody``, when the
tests run as root) with no compiler on PATH: every dependency comes as a
wheel (``pip download --only-binary=:all:``, from pip's cache after the
first run, into a wheelhouse the install reads with ``--no-index``).
README's library snippet runs in the same venv, then the sdist is
checked to hold what a build from it needs.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import need
from tests.servers import free_port

ROOT = Path(__file__).parent.parent
DIST = ROOT / "dist"
README = (ROOT / "README.md").read_text()
SESSION = re.search(r"## Thirty seconds with the service.*?```console\n(.*?)```", README, re.S)
LIBRARY = re.search(r"## As a library.*?```python\n(.*?)```", README, re.S)
#: README's port; another is used (and substituted) only if something else holds it.
PORT = 8000


@dataclass(frozen=True)
class Step:
    """One command of the README's session and the answer the README shows for it."""

    command: str
    shown: list[str]


def session_steps(text: str) -> list[Step]:
    """The console block's commands (``$ ``, continued by a trailing backslash) and outputs."""
    steps: list[Step] = []
    lines = iter(text.splitlines())
    for line in lines:
        if line.startswith("$ "):
            command = line[2:]
            while command.endswith("\\"):
                command = command[:-1] + next(lines).strip()
            steps.append(Step(command, []))
        else:
            steps[-1].shown.append(line)
    return [s for s in steps if not s.command.startswith("#")]


def test_the_readme_session_is_found() -> None:
    """The README holds a console session with answers, and a library snippet."""
    assert SESSION is not None
    assert LIBRARY is not None
    steps = session_steps(SESSION.group(1))
    assert len(steps) == 3
    assert all(
        s.command.startswith("curl -i ") and s.shown[0].startswith("HTTP/1.1 ") for s in steps
    )
    assert "pip install 'httpconflict[service]'\nhttpconflict serve" in README


@dataclass(frozen=True)
class User:
    """A user who is not root (``nobody``, when the tests run as root), in a home of their own."""

    home: Path
    #: The command prefix running a program as that user (empty when already one).
    as_user: tuple[str, ...]
    #: PATH for that user: the few programs needed, no compiler among them.
    path: str
    #: Pip's settings: packages from the wheelhouse alone.
    pip: tuple[tuple[str, str], ...] = ()

    def env(self) -> dict[str, str]:
        return {"PATH": self.path, "HOME": str(self.home), "LANG": "C.UTF-8", **dict(self.pip)}

    def command(self, *argv: str) -> list[str]:
        """`argv` run as the user, with nothing of this process's environment but `env`."""
        settings = (f"{k}={v}" for k, v in self.env().items())
        return [*self.as_user, "/usr/bin/env", "-i", *settings, *argv]

    def run(self, *argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(*argv),
            capture_output=True,
            text=True,
            check=False,
            cwd=cwd or self.home,
            timeout=300,
        )

    def give(self, path: Path) -> None:
        """Make `path`, and all under it, the user's."""
        if self.as_user:
            for each in [path, *path.rglob("*")]:
                shutil.chown(each, "nobody")


def _artifact(pattern: str) -> Path:
    found = sorted(DIST.glob(pattern))
    if not found:
        need(f"no {pattern} in dist/: `make test` builds it (or run python -m build)")
    return found[-1]


def _python_for_anyone() -> str:
    """A Python 3.11+ any user may run (the tests' own may sit in root's home)."""
    for candidate in ("/usr/bin/python3", "/usr/local/bin/python3", sys.executable):
        if not os.access(candidate, os.X_OK):
            continue
        if os.geteuid() == 0 and Path(candidate).resolve().is_relative_to("/root"):
            continue  # nobody may not enter root's home
        probe = subprocess.run(
            [candidate, "-c", "import sys, venv; print(sys.version_info >= (3, 11))"],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.stdout.strip() == "True":
            return candidate
    return need("no Python 3.11+ outside root's home for an unprivileged user to run")


def _download(wheelhouse: Path, *requirements: str) -> None:
    """Wheels only (nothing to compile) into `wheelhouse`, from pip's cache after the first run."""
    done = subprocess.run(
        [
            *(sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check"),
            *("--only-binary=:all:", "--dest", str(wheelhouse), *requirements),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    if done.returncode != 0:
        need(f"pip could not fetch {requirements} as wheels: {done.stderr[-500:]}")


@pytest.fixture(scope="module")
def user() -> Iterator[User]:
    """A user who is not root, with a wheelhouse holding what the service extra needs."""
    wheel = _artifact("*.whl")
    home = Path(tempfile.mkdtemp(prefix="httpconflict-wheel-"))
    try:
        wheelhouse = home / "wheelhouse"
        # With what `make serve` needs besides: an up-to-date pip, the build backend.
        constraints = ("-c", str(ROOT / "constraints.txt"))
        _download(wheelhouse, *constraints, f"{wheel}[service]", "pip", "hatchling", "editables")
        shutil.copy(wheel, home)
        tools = home / "bin"
        tools.mkdir()
        python = _python_for_anyone()
        for name, program in (("python3", python), ("make", shutil.which("make"))):
            if program is not None:
                (tools / name).symlink_to(program)
        (tools / "touch").symlink_to(shutil.which("touch") or "/usr/bin/touch")
        as_user: tuple[str, ...] = ()
        if os.geteuid() == 0:
            runuser = shutil.which("runuser")
            if runuser is None:
                need("runuser is missing: cannot run as a user other than root")
            as_user = (runuser, "-u", "nobody", "--")
        home.chmod(0o755)
        pip = (("PIP_NO_INDEX", "1"), ("PIP_FIND_LINKS", str(wheelhouse)))
        found = User(home, as_user, f"{home / 'venv' / 'bin'}:{tools}", pip)
        found.give(home)
        for compiler in ("gcc", "cc", "clang"):
            assert shutil.which(compiler, path=found.path) is None
        yield found
    finally:
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def installed(user: User) -> Path:
    """The wheel with the service extra in a fresh venv of the user's own: its directory."""
    venv = user.home / "venv"
    made = user.run("python3", "-m", "venv", str(venv))
    assert made.returncode == 0, made.stderr
    wheel = next(user.home.glob("*.whl"))
    pip = user.run(
        str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", f"{wheel}[service]"
    )
    assert pip.returncode == 0, pip.stdout + pip.stderr
    return venv


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _answer(output: str) -> tuple[str, list[str], str]:
    """curl -i's output as status line, header lines (names lower-cased) and body."""
    head, _, body = output.replace("\r\n", "\n").partition("\n\n")
    status, *fields = head.splitlines()
    return status, [f.split(":", 1)[0].lower() + ":" + f.split(":", 1)[1] for f in fields], body


def test_the_readme_session_runs_on_the_wheel(user: User, installed: Path) -> None:
    """`httpconflict serve` from the wheel answers README's curl lines as README shows."""
    assert SESSION is not None
    port = PORT if _free(PORT) else free_port()
    with subprocess.Popen(
        user.command("httpconflict", "serve", "--port", str(port)),
        cwd=user.home,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    ) as server:
        try:
            _wait_until_serving(port, server)
            for step in session_steps(SESSION.group(1)):
                command = step.command.replace(f"localhost:{PORT}", f"localhost:{port}")
                done = subprocess.run(
                    ["/bin/sh", "-c", command],
                    capture_output=True,
                    text=True,
                    check=True,
                    timeout=30,
                )
                status, fields, body = _answer(done.stdout)
                shown_head, _, shown_body = "\n".join(step.shown).strip().partition("\n\n")
                shown_status, *shown_fields = shown_head.splitlines()
                assert status == shown_status, command
                for field in shown_fields:
                    assert field in fields, (command, field, fields)
                if shown_body:
                    assert body == shown_body, command
        finally:
            server.terminate()
            server.wait(timeout=30)
    assert (user.home / "httpconflict.db").exists()  # the README's ./httpconflict.db


def _wait_until_serving(port: int, server: subprocess.Popen[str], within: float = 30) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if server.poll() is not None:
            output = server.stderr or server.stdout
            pytest.fail(f"the server stopped: {output.read() if output else ''}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    pytest.fail(f"the server did not listen within {within:g} s")


def test_the_readme_library_snippet_runs_on_the_wheel(user: User, installed: Path) -> None:
    """The README's library snippet runs in the fresh venv (the core needs no extra)."""
    assert LIBRARY is not None
    done = user.run(str(installed / "bin" / "python"), "-c", LIBRARY.group(1))
    assert done.returncode == 0, done.stderr


def test_the_wheel_lists_its_extras(user: User, installed: Path) -> None:
    """The installed distribution declares every extra the docs name, and the CLI entry point."""
    code = (
        "from importlib.metadata import metadata, entry_points\n"
        "m = metadata('httpconflict')\n"
        "print(sorted(m.get_all('Provides-Extra')))\n"
        "print([e.value for e in entry_points(group='console_scripts', name='httpconflict')])\n"
    )
    done = user.run(str(installed / "bin" / "python"), "-c", code)
    assert done.returncode == 0, done.stderr
    extras, scripts = done.stdout.splitlines()
    for extra in ("service", "tools", "fastapi", "django", "flask", "postgres", "redis", "httpx"):
        assert f"'{extra}'" in extras
    assert scripts == "['httpconflict.cli:main']"


def test_the_sdist_holds_what_a_build_needs() -> None:
    """The sdist carries the sources, the tests, the docs and the build configuration."""
    sdist = _artifact("*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    for needed in (
        "pyproject.toml",
        "README.md",
        "LICENSE",
        "src/httpconflict/__init__.py",
        "src/httpconflict/cli.py",
        "docs/install.md",
        "tests/test_wheel.py",
    ):
        assert needed in names
    assert not any(name.startswith((".venv/", "dist/")) for name in names)


#: What `make serve` must not install: the test tools.
TEST_TOOLS = ("pytest", "hypothesis", "mypy", "ruff", "playwright", "schemathesis", "mysqlclient")


def test_make_serve_in_a_fresh_clone(user: User) -> None:
    """`make serve` as that user, no compiler, no apt: it serves, and installed no test tool."""
    clone = user.home / "clone"
    listed = subprocess.run(
        [shutil.which("git") or "git", "ls-files", "-z"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    for name in filter(None, listed.stdout.split("\0")):
        if (ROOT / name).is_file():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, clone / name)
    user.give(clone)
    port = free_port()
    with subprocess.Popen(
        user.command("make", "serve", f"ARGS=--port {port}"),
        cwd=clone,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    ) as make:
        try:
            _wait_until_serving(port, make, within=240)
            with socket.create_connection(("127.0.0.1", port)) as connection:
                connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                assert connection.recv(100).startswith(b"HTTP/1.1 200 ")
        finally:
            with contextlib.suppress(ProcessLookupError):  # make may have stopped by itself
                os.killpg(make.pid, signal.SIGTERM)
            make.wait(timeout=30)
    listed_packages = user.run(str(clone / ".venv" / "bin" / "python"), "-m", "pip", "list")
    installed_names = listed_packages.stdout.lower()
    assert "uvicorn" in installed_names
    for tool in TEST_TOOLS:
        assert tool not in installed_names
