"""Redis failing an app's request: redis-py's errors, read by class name and message.

Theory of operation: redis-py (sync and ``redis.asyncio`` alike, and
Django's ``RedisCache`` backend on it) raises its own error classes
(``redis.exceptions``), told apart here by their names and redis-py's own
words, importing nothing of it:

- REFUSED, no command of the request's was sent or run: a connection never
  made (``Error 111 connecting to 127.0.0.1:6379. Connection refused.``,
  ``Timeout connecting to server``), a server turning clients away
  (``max number of clients reached``) or still loading its data
  (`BusyLoadingError`: ``LOADING Redis is loading the dataset in
  memory``), no free connection in the pool (`MaxConnectionsError`:
  ``Too many connections``; a ``BlockingConnectionPool``'s ``No
  connection available.``);
- LOST, the connection broke with a command on its way: ``Connection
  closed by server.`` (a restart, ``CLIENT KILL``), ``Error while reading
  from ...`` (a reset), ``Error 32 while writing to socket`` and the
  timeouts of a read or a write (``Timeout reading from ...``: a frozen
  server, which may still run the command once it thaws). A write among
  it may have been applied: a 504 for any method but a read's.

redis-py retries a command that failed on a connection error (3 times by
default), and raises the last attempt's error only: a refused reconnect
after a first attempt whose connection broke with the command sent. So a
REFUSED counts only when the command's retry loop (its ``call_with_retry``
frame, not a connect's) failed once; after more attempts, or with no count
to read, it is LOST: an earlier attempt may have run the command. A
connection refused before any command (the pool connecting, however many
times it tried) stays REFUSED.

A timeout is never GAVE_UP here: Redis rolls nothing back, so a timeout
with a command sent is LOST, and one before (the connect) is REFUSED.

uvloop raises its own ``RuntimeError`` (``unable to perform operation on
<TCPTransport closed=True ...>; the handler is closed``) when redis-py's
asyncio client writes to a connection whose transport closed under it,
and redis-py lets it through as it is. It counts only when redis-py's own
frame is the innermost one above the event loop (its traceback tells, as
in `_outage_socket`): LOST. The same error from the app's own code is the
app's.

Anything else of redis-py is the app's bug or configuration, a 500: a
wrong password (`AuthenticationError`, also a ``ConnectionError``), TLS
refused or a certificate file that is not there (worded as a connect's
error), a missing permission, a wrong command or type (``WRONGTYPE``), a
database number the server does not have.
"""

from __future__ import annotations

import re
import socket
from typing import Final

from ._outage_kind import OutageKind
from ._outage_socket import innermost_frame, innermost_package, traceback_frames

#: redis-py's errors that are the app's configuration, whatever their base class.
_CONFIGURATION: Final = frozenset(
    {"AuthenticationError", "AuthorizationError", "ExternalAuthProviderError"}
)
#: Errors that say the server or the pool turned the request away by their class alone.
_REFUSED_CLASSES: Final = frozenset({"BusyLoadingError", "MaxConnectionsError"})
#: redis-py's words for a connection never made, or no connection to be had (redis-py 5
#: says "Too many connections" of a full pool as a plain ConnectionError).
_REFUSED: Final = re.compile(
    r"^(?:Error (?:\S+ )?connecting to |Timeout connecting to server"
    r"|max number of clients reached|No connection available\.|Too many connections$)"
)
#: redis-py's words for a connection that broke with a command on its way.
_LOST: Final = re.compile(
    r"^(?:Connection closed by server\.|Error while reading from |Timeout reading from "
    r"|Error \S+ while writing to socket|Timeout writing to socket)"
)
#: redis-py's functions that make a connection: no command is sent from there.
_CONNECTING: Final = re.compile(r"connect")
#: uvloop's transport closed under a write.
_HANDLER_CLOSED: Final = re.compile(r"^unable to perform operation on .*the handler is closed")


def redis_outage(error: BaseException) -> OutageKind | None:
    """The outage kind of a redis-py error, or None (not redis-py's, or the app's own)."""
    if isinstance(error, RuntimeError):
        closed = _HANDLER_CLOSED.match(str(error))
        return OutageKind.LOST if closed and innermost_package(error) == "redis" else None
    names = {
        kind.__name__
        for kind in type(error).__mro__
        if kind.__module__.partition(".")[0] == "redis"
    }
    if not names or names & _CONFIGURATION:
        return None
    if not names & {"ConnectionError", "TimeoutError"}:
        return None  # a ResponseError (WRONGTYPE, unknown command), a DataError: the app's
    refused = _REFUSED.match(str(error))
    if refused and _settings_file(error):
        return None
    if names & _REFUSED_CLASSES or refused:
        return OutageKind.LOST if _retried(error) else OutageKind.REFUSED
    if _LOST.match(str(error)):
        return OutageKind.LOST
    return None  # "Invalid Database", "protocol must be ...": configuration


def _settings_file(error: BaseException) -> bool:
    """Whether redis-py's connect (its ``Error ... connecting to``) failed on TLS or a file.

    redis-py words every OSError of its connect alike (``Error 2 connecting
    to host:6380. No such file or directory.``). A TLS failure (a
    certificate refused, TLS spoken to a plain server) is the app's
    configuration, and so is a file (a CA certificate) redis-py opens
    itself; a Unix socket with no server behind it is no file of the
    settings: its socket's connect raised that.
    """
    cause = error.__cause__ or error.__context__
    if not isinstance(cause, OSError) or isinstance(
        cause, ConnectionError | TimeoutError | socket.gaierror
    ):
        return False
    if type(cause).__module__ == "ssl":
        return True
    frame = innermost_frame(cause)
    return frame is not None and not _CONNECTING.search(frame[1])


def _retried(error: BaseException) -> bool:
    """Whether redis-py's retry of the command may have sent it before the attempt that failed.

    The command's retry loop is a ``call_with_retry`` frame of redis-py's
    whose caller is no connect (``connect_check_health`` retries a
    connect alone, the pool's ``get_connection`` connects before any
    command); its ``failures`` counts the attempts that failed, the last
    included.
    """
    caller = ""  # the function that called the retry loop (one may call another)
    for frame in traceback_frames(error.__traceback__):
        function = frame.f_code.co_name
        if function != "call_with_retry":
            caller = function
            continue
        module = frame.f_globals.get("__name__")
        if _CONNECTING.search(caller) or not (
            isinstance(module, str) and module.partition(".")[0] == "redis"
        ):
            continue
        failures = frame.f_locals.get("failures")
        return not (isinstance(failures, int) and failures <= 1)
    return False
