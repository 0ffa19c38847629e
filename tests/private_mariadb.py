"""A private mariadbd on a free port, for tests that change what is global to a server.

The machine's MariaDB (3306) is shared with other tests and CI and its
global state is never changed here. ``SET GLOBAL read_only = ON`` on it,
even for a few milliseconds, stalls every other test's transactions: a
commit waits for the global read lock, which waits for a statement that
waits on the committing transaction's row lock, a cycle neither InnoDB's
nor the metadata locks' deadlock detector sees, broken only by
``innodb_lock_wait_timeout`` 50 s later. This server has its own data
directory in the test's temporary directory, made by
``mariadb-install-db`` (about 2 s), and root without a password.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.servers import free_port, terminate


def mariadb_binaries() -> tuple[str, str] | None:
    """mariadb-install-db and mariadbd, if both are installed."""
    install = shutil.which("mariadb-install-db")
    server = shutil.which("mariadbd") or shutil.which("mariadbd", path="/usr/sbin")
    return None if install is None or server is None else (install, server)


@contextmanager
def private_mariadb(directory: Path) -> Iterator[dict[str, object]]:
    """PyMySQL's connection arguments for a mariadbd of its own, stopped and removed afterwards."""
    import pymysql

    binaries = mariadb_binaries()
    assert binaries is not None, "mariadb-install-db or mariadbd is not installed"
    install, server = binaries
    data = directory / "mariadb"
    # As root (CI) mariadbd runs only when told to.
    user = ["--user=root"] if os.geteuid() == 0 else []
    subprocess.run(
        [install, "--no-defaults", f"--datadir={data}", "--skip-test-db",
         "--auth-root-authentication-method=normal", *user],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    port = free_port()
    process = subprocess.Popen(
        [server, "--no-defaults", f"--datadir={data}", f"--port={port}",
         "--bind-address=127.0.0.1", f"--socket={directory / 'mariadb.sock'}",
         f"--pid-file={directory / 'mariadb.pid'}", f"--log-error={directory / 'mariadb.err'}",
         "--skip-log-bin", "--innodb-buffer-pool-size=16M", *user],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    arguments: dict[str, object] = {"host": "127.0.0.1", "port": port, "user": "root"}
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                pymysql.connect(**arguments, connect_timeout=1).close()
                break
            except pymysql.err.OperationalError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield arguments
    finally:
        terminate(process, wait=30)
        shutil.rmtree(data, ignore_errors=True)
