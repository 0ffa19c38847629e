"""A private PostgreSQL server on a free port, for tests that stop or restart it.

The machine's PostgreSQL (5432) is shared with every other test, and with
other test runs, and is never stopped here: a test of an outage gets a
server of its own, made with ``initdb`` in a temporary directory (on a
tmpfs where there is one, tests/servers.py's `MEMORY`), run with ``pg_ctl``
on 127.0.0.1, and removed afterwards (as tests/private_redis.py does for
Redis). It runs as the ``postgres`` user when the tests run as
root (PostgreSQL refuses to run as root), else as the tests' own user.

``stop`` is a fast shutdown (what a restart does: sessions are ended,
transactions rolled back); ``start`` answers the moment it first accepted
connections, as ``pg_isready`` says, polled every 10 ms.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.servers import MEMORY, free_port

#: Who runs the server when the tests run as root.
SERVER_USER = "postgres"


def postgres_binaries() -> Path | str:
    """The directory of initdb, pg_ctl and pg_isready (the newest installed), else why not."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    initdb = found[-1] if found else (Path(w) if (w := shutil.which("initdb")) else None)
    if initdb is None:
        return "the PostgreSQL server programs (initdb, pg_ctl) are not installed"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SERVER_USER)
        except KeyError:
            return f"running PostgreSQL as root needs a {SERVER_USER!r} user"
    return initdb.parent


@dataclass
class PrivatePostgres:
    """One PostgreSQL server of its own: created, started, stopped and removed at will."""

    binaries: Path
    directory: Path = field(
        default_factory=lambda: Path(tempfile.mkdtemp(prefix="hc-pg-", dir=MEMORY))
    )
    port: int = field(default_factory=free_port)
    #: The addresses it listens on; `url` names the first.
    listen: tuple[str, ...] = ("127.0.0.1",)
    #: Networks (CIDR) whose clients it trusts besides 127.0.0.1, as initdb's own line does.
    trusted: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        return self.url_at(self.listen[0])

    def url_at(self, address: str) -> str:
        """Its URL at one of the addresses it listens on."""
        return f"postgresql://postgres@{address}:{self.port}/postgres"

    @property
    def data(self) -> Path:
        return self.directory / "data"

    def _run(self, program: str, *args: str) -> list[str]:
        command = [str(self.binaries / program), *args]
        return ["runuser", "-u", SERVER_USER, "--", *command] if os.geteuid() == 0 else command

    def create(self) -> None:
        """initdb: a superuser `postgres` trusted on 127.0.0.1 (the shared server's set-up)."""
        if os.geteuid() == 0:
            shutil.chown(self.directory, SERVER_USER)
        initdb = ["-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8"]
        subprocess.run(
            self._run("initdb", *initdb, "--no-sync", "--no-instructions"),
            check=True,
            capture_output=True,
            timeout=120,
        )
        with (self.data / "pg_hba.conf").open("a") as hba:
            hba.writelines(f"host all all {network} trust\n" for network in self.trusted)

    def start(self) -> float:
        """Start it; the moment it first accepted connections."""
        options = (
            f"-p {self.port} -c listen_addresses={','.join(self.listen)} "
            f"-c unix_socket_directories={self.directory} -c fsync=off"
        )
        log = str(self.directory / "server.log")
        starting = self._run(
            "pg_ctl", "start", "-W", "-D", str(self.data), "-l", log, "-o", options
        )
        subprocess.run(starting, check=True, capture_output=True, timeout=60)
        return self.wait_until_ready(timeout=60)

    def stop(self) -> float:
        """Stop it (fast mode: sessions are ended, transactions rolled back); when it was down."""
        return self._halt("fast")

    def crash(self) -> float:
        """Stop it at once, as a crash would (immediate mode: recovery at the next start)."""
        return self._halt("immediate")

    def _halt(self, mode: str, *, check: bool = True) -> float:
        halting = self._run("pg_ctl", "stop", "-w", "-m", mode, "-D", str(self.data))
        subprocess.run(halting, check=check, capture_output=True, timeout=60)
        return time.monotonic()

    def restart(self) -> float:
        """Stop and start it again; the moment it accepted connections again."""
        self.stop()
        return self.start()

    def running(self) -> bool:
        """Whether its postmaster is running (it may not accept connections yet)."""
        status = self._run("pg_ctl", "status", "-D", str(self.data))
        return subprocess.run(status, check=False, capture_output=True).returncode == 0

    def ready(self) -> bool:
        command = [str(self.binaries / "pg_isready"), "-q", "-h", self.listen[0]]
        return (
            subprocess.run([*command, "-p", str(self.port), "-t", "1"], check=False).returncode == 0
        )

    def wait_until_ready(self, timeout: float) -> float:
        deadline = time.monotonic() + timeout
        while not self.ready():
            if time.monotonic() > deadline:
                log = (self.directory / "server.log").read_text(errors="replace")
                raise RuntimeError(f"PostgreSQL did not come up:\n{log}")
            time.sleep(0.01)
        return time.monotonic()

    def remove(self) -> None:
        """Stop it if it runs (immediate mode: nothing worth keeping), and delete its files."""
        if self.data.exists() and self.running():
            self._halt("immediate", check=False)
        shutil.rmtree(self.directory, ignore_errors=True)
