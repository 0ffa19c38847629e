"""A database driver's socket failing: the OSError a driver raises as it is.

Theory of operation: most drivers wrap a failing socket in their own error
(psycopg's ``connection failed``, PyMySQL's 2003), but asyncpg, and
SQLAlchemy's asyncpg dialect after it, raise the event loop's own: a
`ConnectionRefusedError`, a `FileNotFoundError` for a Unix socket with no
server behind it, a `socket.gaierror`, asyncio's "Multiple exceptions: ..."
`OSError` for a host of several addresses, a `ConnectionResetError` when the
server closes the connection while it starts up, and a `TimeoutError` for a
connect, a pool's acquire or a query that timed out.

An OSError is the app's own when the app raised it (a file it reads, a
socket it opens, an HTTP client's connect): its traceback tells. Its
innermost frame outside the standard library and the event loop (uvloop)
must be a driver's; a frame of the app there (a callback the driver runs,
its own code) makes it the app's: None, and the adapter's 500. Only a
socket's errors count: a driver reading a missing certificate file raises
`FileNotFoundError` from its own frame, a configuration error, while the
same error raised by the event loop's connect is a socket with no server.

Refused or lost: an error of a connection never made (refused, no route, no
such host, no socket file) is REFUSED, and so is any other failure while
the driver was connecting or acquiring a connection (one of its frames'
functions says so): no statement was sent. Anything else failed with a
statement on its way (a reset, a query's timeout: the server may have run
it): LOST.
"""

from __future__ import annotations

import asyncio
import errno
import re
import socket
import sys
from types import FrameType, TracebackType
from typing import Final

from ._outage_kind import OutageKind

#: The drivers that talk to a server over a socket, by top-level package.
_DRIVERS: Final = {
    "asyncpg": "postgresql",
    "psycopg": "postgresql",
    "psycopg2": "postgresql",
    "psycopg_pool": "postgresql",
    "aiomysql": "mysql",
    "pymysql": "mysql",
    "MySQLdb": "mysql",
    "mysql": "mysql",  # mysql-connector
}
#: What a deadline may expire in: the drivers, and redis-py.
_DEADLINE_DRIVERS: Final = {**_DRIVERS, "redis": "redis"}
#: Where a socket's error is raised from under a driver: not the app, not a driver.
_LOOP_LAYER: Final = frozenset(sys.stdlib_module_names) | {"uvloop"}
#: A connection that was never made.
_NEVER_CONNECTED: Final = frozenset(
    {
        errno.ECONNREFUSED,
        errno.EHOSTUNREACH,
        errno.ENETUNREACH,
        errno.EHOSTDOWN,
        errno.ENETDOWN,
        errno.EADDRNOTAVAIL,
    }
)
#: A connection that broke, or a peer that stopped answering.
_BROKE: Final = frozenset({errno.ECONNRESET, errno.ECONNABORTED, errno.EPIPE, errno.ETIMEDOUT})
#: A driver's function that makes or hands out a connection (asyncpg's `connect`,
#: `_connect_addr`, `Pool.acquire`): no statement is sent from there.
_CONNECTING: Final = re.compile(r"connect|acquire")


def socket_outage(error: BaseException) -> tuple[OutageKind, str] | None:
    """The outage kind and dialect of a driver's socket error, or None (not one, or the app's)."""
    if not isinstance(error, OSError) or type(error).__module__ == "ssl":
        return None  # a TLS failure (a certificate refused) is the app's configuration
    frames = _frames(error.__traceback__)
    innermost = _innermost(frames)
    driver = _package(innermost[0]) if innermost is not None else ""
    dialect = _DRIVERS.get(driver)
    if dialect is None:
        return None  # the app's own socket, file or HTTP client
    raised_by_loop = _package(frames[-1][0]) in _LOOP_LAYER
    never_connected = (
        isinstance(error, ConnectionRefusedError | socket.gaierror)
        or error.errno in _NEVER_CONNECTED
        or (error.errno is None and str(error).startswith("Multiple exceptions: "))
        or (isinstance(error, FileNotFoundError) and raised_by_loop)
    )
    if never_connected:
        return OutageKind.REFUSED, dialect
    if not isinstance(error, ConnectionError | TimeoutError) and error.errno not in _BROKE:
        return None  # a file of the driver's (a certificate, a password file): configuration
    connecting = any(
        _package(module) == driver and _CONNECTING.search(function) for module, function in frames
    )
    return (OutageKind.REFUSED if connecting else OutageKind.LOST), dialect


def deadline_outage(error: BaseException) -> tuple[OutageKind, str] | None:
    """The outage an app's deadline reports when it expired in a driver's call, or None."""
    if not isinstance(error, TimeoutError):
        return None
    frames = _frames(error.__traceback__)
    if not frames or _package(frames[-1][0]) != "asyncio":
        return None  # a driver's own timeout, or the app's: socket_outage reads them
    cancelled: BaseException | None = error.__cause__
    while isinstance(cancelled, asyncio.CancelledError):
        waited = _frames(cancelled.__traceback__)
        innermost = _innermost(waited)
        if innermost is not None:
            driver = _package(innermost[0])
            dialect = _DEADLINE_DRIVERS.get(driver)
            if dialect is None:
                return None  # it expired in the app's own await
            connecting = any(
                _package(module) == driver and _CONNECTING.search(function)
                for module, function in waited
            )
            return (OutageKind.REFUSED if connecting else OutageKind.LOST), dialect
        # wait_for's own CancelledError: the call's is its context.
        cancelled = cancelled.__cause__ or cancelled.__context__
    return None


def innermost_package(error: BaseException) -> str | None:
    """The package of the innermost frame of `error`'s traceback above the loop layer.

    Who raised an error the event loop (or the standard library) raised on
    its behalf: a driver's package, or the app's.
    """
    frame = innermost_frame(error)
    return _package(frame[0]) if frame is not None else None


def innermost_frame(error: BaseException) -> tuple[str, str] | None:
    """(module, function) of the innermost frame of `error`'s traceback above the loop layer."""
    return _innermost(_frames(error.__traceback__))


def _innermost(frames: list[tuple[str, str]]) -> tuple[str, str] | None:
    above_loop = [frame for frame in frames if _package(frame[0]) not in _LOOP_LAYER]
    return above_loop[-1] if above_loop else None


def traceback_frames(traceback: TracebackType | None) -> list[FrameType]:
    """The frames of `traceback`, outermost first, the raising one last."""
    frames: list[FrameType] = []
    while traceback is not None:
        frames.append(traceback.tb_frame)
        traceback = traceback.tb_next
    return frames


def _frames(traceback: TracebackType | None) -> list[tuple[str, str]]:
    """(module, function) of each frame, outermost first, the raising one last."""
    frames: list[tuple[str, str]] = []
    for frame in traceback_frames(traceback):
        module = frame.f_globals.get("__name__")
        frames.append((module if isinstance(module, str) else "", frame.f_code.co_name))
    return frames


def _package(module: str) -> str:
    return module.partition(".")[0]


#: Where a COMMIT fails: SQLAlchemy's connection, a PEP 249 connection's ``commit()``.
_COMMITS: Final = frozenset({"_commit_impl", "commit", "commit_prepared"})


def raised_by_commit(error: BaseException) -> bool:
    """Whether `error` (or what it was raised from) was raised by a COMMIT.

    For an app whose commits no hook counts (the hooks come with ``import
    httpconflict.sqlalchemy``): a failed COMMIT must still not be taken for
    a failed close.
    """
    seen = 0
    current: BaseException | None = error
    while current is not None and seen < 8:
        tb = current.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_name in _COMMITS:
                return True
            tb = tb.tb_next
        current = current.__cause__ or current.__context__
        seen += 1
    return False
