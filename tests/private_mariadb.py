"""A private MariaDB server on a free port, for tests that change its global state.

The machine's MariaDB (3306) is shared with every other test of the run.
A test that sets a global on it hurts them: ``SET GLOBAL read_only = ON``
takes the global read lock, which waits for the transactions of every
other session and meanwhile holds up their commits, so a test whose
transactions wait on each other's row locks stood still for
``innodb_lock_wait_timeout`` (50 s) and failed. A test of such a state gets
a server of its own instead: ``mariadb-install-db`` in a temporary
directory (on a tmpfs where there is one, tests/servers.py's `MEMORY`:
half a second), ``mariadbd`` on 127.0.0.1 (ready in about 0.2 s), ``root``
without a password, removed afterwards. It runs as the ``mysql`` user when
the tests run as root, else as the tests' own user.
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
SERVER_USER = "mysql"
INSTALL = "mariadb-install-db"
SERVER = "/usr/sbin/mariadbd"
#: InnoDB's files for a few tables (its default redo log alone is 96 MiB, written at install).
SMALL = ("--innodb-log-file-size=4M", "--innodb-buffer-pool-size=16M")


def mariadb_programs() -> tuple[str, str] | str:
    """mariadb-install-db and mariadbd, else why not."""
    install = shutil.which(INSTALL)
    server = SERVER if Path(SERVER).exists() else shutil.which("mariadbd")
    if install is None or server is None:
        return "the MariaDB server programs (mariadb-install-db, mariadbd) are not installed"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SERVER_USER)
        except KeyError:
            return f"running MariaDB as root needs a {SERVER_USER!r} user"
    return install, server


@dataclass
class PrivateMariaDB:
    """One MariaDB server of its own, started and removed."""

    install: str
    server: str
    directory: Path = field(
        default_factory=lambda: Path(tempfile.mkdtemp(prefix="hc-mariadb-", dir=MEMORY))
    )
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def connection(self) -> dict[str, object]:
        """Connection arguments (PyMySQL's names), as the `mariadb_server` fixture gives them."""
        return {"host": "127.0.0.1", "port": self.port, "user": "root", "password": ""}

    def _own(self) -> tuple[str, ...]:
        """The options of both the install and the server: its own files, its user."""
        data, tmp = self.directory / "data", self.directory / "tmp"
        return ("--no-defaults", f"--datadir={data}", f"--tmpdir={tmp}", f"--user={self._user()}")

    def _user(self) -> str:
        return SERVER_USER if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name

    def start(self) -> None:
        """Create its data directory and start it; return once it answers a query."""
        # Its own temporary directory: at start a server deletes every "#sql*" file in its
        # tmpdir, which in /tmp are the machine's MariaDB's temporary tables in use (a query
        # of another test then failed with "Error on delete of '/tmp/#sql-temptable-...'").
        tmp = self.directory / "tmp"
        tmp.mkdir(exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.directory, SERVER_USER)
            shutil.chown(tmp, SERVER_USER)
        installing = [self.install, *self._own()]
        installing += ["--auth-root-authentication-method=normal", "--skip-test-db", *SMALL]
        subprocess.run(installing, check=True, capture_output=True, timeout=120)
        self.run()

    def run(self) -> None:
        """Start the installed server; return once it answers a query."""
        log = self.directory / "server.log"
        command = [self.server, *self._own()]
        command += [f"--port={self.port}", "--bind-address=127.0.0.1", "--skip-name-resolve"]
        command += [f"--socket={self.directory / 'sock'}", f"--pid-file={self.directory / 'pid'}"]
        command += [f"--log-error={log}", "--skip-log-bin", *SMALL]
        quiet = subprocess.DEVNULL  # it writes to --log-error
        self.process = subprocess.Popen(command, stdout=quiet, stderr=quiet)
        self.wait_until_ready(timeout=60)

    def wait_until_ready(self, timeout: float) -> None:
        import pymysql

        deadline = time.monotonic() + timeout
        while True:
            assert self.process is not None
            if self.process.poll() is not None or time.monotonic() > deadline:
                said = (self.directory / "server.log").read_text(errors="replace")
                raise RuntimeError(f"MariaDB did not come up:\n{said}")
            try:
                pymysql.connect(**self.connection, connect_timeout=1).close()
                return
            except pymysql.err.OperationalError:
                time.sleep(0.01)

    def stop(self) -> None:
        """Stop it cleanly (SIGTERM), as a restart does; `run` starts it again."""
        assert self.process is not None
        self.process.terminate()
        self.process.wait(timeout=60)

    def remove(self) -> None:
        """Stop it (SIGKILL: nothing in it is worth a clean shutdown) and delete its files."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)
