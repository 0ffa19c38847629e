"""The OSErrors asyncpg raises as they are: a database's outage; the app's own OSErrors: not.

Each error is raised for real: asyncpg (bare, in its pool, under
SQLAlchemy's asyncpg dialect) against a port no server listens on, a Unix
socket directory with no server, a server that closes the connection at
once, a name no DNS knows, and the PostgreSQL server (a query's timeout, a
pool with no free connection); and the app's own file, socket and HTTP
client against the same closed port.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from httpconflict._outage_socket import socket_outage
from httpconflict.outage import Outage, OutageKind, outage, outage_error
from tests.servers import free_port

asyncpg = pytest.importorskip("asyncpg")

REFUSED = Outage(OutageKind.REFUSED, "postgresql")
LOST = Outage(OutageKind.LOST, "postgresql")


def raised(action: Callable[[], Awaitable[object]]) -> BaseException:
    """The error `action` raises, run on a loop of its own."""

    async def run() -> None:
        await action()

    with pytest.raises(BaseException) as caught:  # noqa: PT011  # any error is the point
        asyncio.run(run())
    return caught.value


def closed_port_url() -> str:
    return f"postgresql://postgres@127.0.0.1:{free_port()}/test"


def test_refused_connect_is_refused() -> None:
    """asyncpg's ConnectionRefusedError (no server on the port): refused, in a pool's too."""
    url = closed_port_url()
    error = raised(lambda: asyncpg.connect(url))
    assert type(error) is ConnectionRefusedError
    assert outage(error) == REFUSED
    assert outage(raised(lambda: asyncpg.create_pool(url, min_size=1))) == REFUSED


def test_unix_socket_without_server_is_refused(tmp_path: Path) -> None:
    """A Unix socket directory with no server in it: FileNotFoundError from the loop, refused."""
    error = raised(lambda: asyncpg.connect(host=str(tmp_path), port=5432, user="postgres"))
    assert type(error) is FileNotFoundError
    assert outage(error) == REFUSED


def test_unknown_host_is_refused() -> None:
    """A name no DNS knows (socket.gaierror), as psycopg's 'could not translate host name'."""
    error = raised(lambda: asyncpg.connect("postgresql://postgres@hc-no-such-host.invalid/test"))
    assert isinstance(error, socket.gaierror)
    assert outage(error) == REFUSED


def test_connection_closed_while_connecting_is_refused() -> None:
    """A server that ends the connection before the start-up is done: nothing was sent."""

    async def connect() -> None:
        async def close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.close()

        server = await asyncio.start_server(close, "127.0.0.1", 0)
        async with server:
            port = server.sockets[0].getsockname()[1]
            await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{port}/test")

    error = raised(connect)
    assert isinstance(error, ConnectionResetError)
    assert outage(error) == REFUSED


def test_connect_timeout_is_refused() -> None:
    """A server that accepts and never answers: the connect's TimeoutError, refused."""
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        url = f"postgresql://postgres@127.0.0.1:{port}/test"
        error = raised(lambda: asyncpg.connect(url, timeout=0.2))
    assert isinstance(error, TimeoutError)
    assert outage(error) == REFUSED


def test_pool_acquire_timeout_is_refused(postgres_server: str) -> None:
    """asyncpg's pool with no free connection in time: TimeoutError, refused (as SQLAlchemy's)."""

    async def acquire() -> None:
        pool = asyncpg.create_pool(postgres_server, min_size=1, max_size=1)
        async with pool, pool.acquire():
            await pool.acquire(timeout=0.05)

    error = raised(acquire)
    assert isinstance(error, TimeoutError)
    assert outage(error) == REFUSED


def test_query_timeout_is_lost(postgres_server: str) -> None:
    """A query's own timeout: the server may have run it, so a write's outcome is unknown (504)."""

    async def query() -> None:
        conn = await asyncpg.connect(postgres_server)
        try:
            await conn.execute("SELECT pg_sleep(5)", timeout=0.1)
        finally:
            await conn.close()

    error = raised(query)
    assert isinstance(error, TimeoutError)
    assert outage(error) == LOST
    assert type(outage_error(error, "PUT")).__name__ == "WriteOutcomeUnknown"
    assert type(outage_error(error, "GET")).__name__ == "Unavailable"


def test_sqlalchemy_asyncpg_passes_it_through() -> None:
    """SQLAlchemy's asyncpg dialect does not wrap the refusal: the same OSError, refused."""
    pytest.importorskip("sqlalchemy")
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    async def query() -> None:
        engine = create_async_engine(closed_port_url().replace("postgresql", "postgresql+asyncpg"))
        try:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        finally:
            await engine.dispose()

    error = raised(query)
    assert type(error) is ConnectionRefusedError
    assert outage(error) == REFUSED


def test_missing_certificate_file_is_configuration() -> None:
    """asyncpg reading a certificate file that is not there: the app's configuration, a 500."""
    url = "postgresql://postgres@127.0.0.1:5432/test?sslmode=verify-full&sslrootcert=/hc/none.crt"
    error = raised(lambda: asyncpg.connect(url))
    assert type(error) is FileNotFoundError
    assert outage(error) is None


async def read_missing_file() -> None:
    await asyncio.to_thread(Path("/hc-no-such-directory/settings.json").read_text)


def app_errors() -> dict[str, BaseException]:
    """The app's own OSErrors, each against the same kind of closed port."""
    port = free_port()

    async def http_get() -> None:
        async with httpx.AsyncClient() as client:
            await client.get(f"http://127.0.0.1:{port}/")

    return {
        "file": raised(read_missing_file),
        "socket": raised(lambda: asyncio.open_connection("127.0.0.1", port)),
        "http-client": raised(http_get),
        "refused-sync-socket": raised(
            lambda: asyncio.to_thread(socket.create_connection, ("127.0.0.1", port))
        ),
    }


@pytest.mark.parametrize("name", ["file", "socket", "http-client", "refused-sync-socket"])
def test_app_own_oserror_is_no_outage(name: str) -> None:
    """An OSError the app raised (its file, its socket, its HTTP client): no outage, a 500."""
    error = app_errors()[name]
    assert outage(error) is None
    assert outage_error(error, "GET") is None


def test_app_callback_run_by_the_driver_is_no_outage(postgres_server: str) -> None:
    """The app's OSError in a callback asyncpg's pool runs (``init``) is the app's."""

    async def init(conn: Any) -> None:  # the pool runs it on each new connection
        await read_missing_file()

    error = raised(lambda: asyncpg.create_pool(postgres_server, init=init, min_size=1))
    assert type(error) is FileNotFoundError
    assert outage(error) is None


def test_an_oserror_without_traceback_is_no_outage() -> None:
    """An OSError never raised (no traceback to tell whose it is) is nobody's outage."""
    assert socket_outage(ConnectionRefusedError(111, "Connection refused")) is None
    assert socket_outage(ValueError("not an OSError")) is None


def test_connection_used_after_it_broke_is_lost(postgres_server: str) -> None:
    """asyncpg's 'connection is closed' (bare, and as SQLAlchemy's pool hands it out): lost."""

    async def use_terminated() -> None:
        conn = await asyncpg.connect(postgres_server)
        killer = await asyncpg.connect(postgres_server)
        await killer.execute("SELECT pg_terminate_backend($1)", conn.get_server_pid())
        await killer.close()
        # The one that meets the termination: whichever error the race gives (below).
        with contextlib.suppress(
            asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError
        ):
            await conn.execute("SELECT 1")
        await conn.execute("SELECT 1")

    error = raised(use_terminated)
    assert type(error).__name__ == "InterfaceError"
    assert outage(error) == LOST


def test_every_error_of_a_terminated_connection_is_lost(postgres_server: str) -> None:
    """The first statement on a connection the server just ended (a restart, a failover,
    pg_terminate_backend), 30 times: asyncpg raises what the race gives, and every one is
    lost. Besides 08003 and 'connection is closed', asyncpg's own state machine may trip:
    InternalClientError 'cannot switch to state 15; another operation (2) is in progress'
    (5 of 10 here; sqlalchemy/sqlalchemy#13241 saw 44 of 1,000), which was a 500."""

    async def first_errors() -> list[BaseException]:
        errors: list[BaseException] = []
        for _ in range(30):
            conn = await asyncpg.connect(postgres_server)
            killer = await asyncpg.connect(postgres_server)
            await killer.execute("SELECT pg_terminate_backend($1)", conn.get_server_pid())
            await killer.close()
            try:
                await conn.execute("SELECT 1")
            except Exception as error:  # whichever it is, it is the point
                errors.append(error)
            conn.terminate()
        return errors

    errors = asyncio.run(first_errors())
    assert len(errors) == 30
    kinds = sorted({type(error).__name__ for error in errors})
    print("first errors:", kinds)
    assert [outage(error) for error in errors] == [LOST] * 30, kinds


def test_asyncpgs_state_machine_tripped_by_a_termination_is_lost() -> None:
    """The InternalClientError itself (asyncpg's class, its words): lost, whatever the race
    above gave on this run. Its other words (an unknown protocol state) stay the app's 500."""
    tripped = asyncpg.InternalClientError(
        "cannot switch to state 15; another operation (2) is in progress"
    )
    assert outage(tripped) == LOST
    assert outage(asyncpg.InternalClientError("got result for unknown protocol state 0")) is None
