"""A private PgBouncer in transaction pooling mode, in front of one database, for tests.

Transaction pooling is how many instances share one PostgreSQL: each
transaction (each statement, in autocommit) runs on whichever server
connection is free, so nothing a session keeps (a prepared statement) is
there for the next. Run from the Debian package's ``pgbouncer`` on a free
port on 127.0.0.1, as the ``postgres`` user when the tests run as root
(PgBouncer refuses to run as root), with few server connections so that
clients are multiplexed over them. Removed at the end.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from tests.conftest import need
from tests.private_postgres import SERVER_USER
from tests.servers import free_port, terminate


def pgbouncer_binary() -> str:
    """The pgbouncer program, else the test is skipped (failed in CI) saying how to get it."""
    found = shutil.which("pgbouncer") or (
        "/usr/sbin/pgbouncer" if Path("/usr/sbin/pgbouncer").exists() else None
    )
    if found is None:
        need("pgbouncer is not installed (apt-get install pgbouncer); install it to run this test")
    return found


@contextmanager
def pgbouncer(database_url: str, *, server_connections: int = 2) -> Iterator[str]:
    """Run PgBouncer (transaction mode) in front of `database_url`; yield the URL through it."""
    binary = pgbouncer_binary()
    target = urlsplit(database_url)
    name = target.path.lstrip("/")
    directory = Path(tempfile.mkdtemp(prefix="hc-pgbouncer-"))
    port = free_port()
    (directory / "users.txt").write_text(f'"{target.username}" ""\n')
    (directory / "pgbouncer.ini").write_text(
        f"[databases]\n{name} = host={target.hostname} port={target.port or 5432} "
        f"dbname={name} user={target.username}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {directory / 'users.txt'}\n"
        f"pool_mode = transaction\ndefault_pool_size = {server_connections}\n"
        f"max_client_conn = 500\nlogfile = {directory / 'pgbouncer.log'}\n"
    )
    command = [binary, str(directory / "pgbouncer.ini")]
    if os.geteuid() == 0:
        shutil.chown(directory, SERVER_USER)
        for file in directory.iterdir():
            shutil.chown(file, SERVER_USER)
        command = ["runuser", "-u", SERVER_USER, "--", *command]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_for(port, process)
        yield f"postgresql://{target.username}@127.0.0.1:{port}/{name}"
    finally:
        terminate(process)  # SIGTERM: PgBouncer ends at once (SIGINT waits for its clients)
        if process.stderr is not None:
            process.stderr.close()
        shutil.rmtree(directory, ignore_errors=True)


def _wait_for(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                error = b"" if process.stderr is None else process.stderr.read()
                message = error.decode(errors="replace")
                raise RuntimeError(f"PgBouncer did not start: {message}") from None
            time.sleep(0.02)
