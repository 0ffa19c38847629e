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

A server that is up may refuse a command for a state it is in. Redis
checks that state before it runs any of the command (server.c's
``processCommand``, cluster.c's ``getNodeByQuery``), so each of these
replies is REFUSED, for any method:

- ``OOM command not allowed when used memory > 'maxmemory'``
  (`OutOfMemoryError`): memory full under ``noeviction``; a read still
  answers;
- ``READONLY You can't write against a read only replica.``
  (`ReadOnlyError`): the app writes to a primary that a failover made a
  replica;
- ``MASTERDOWN Link with MASTER is down and replica-serve-stale-data is
  set to 'no'.`` (`MasterDownError`): a replica cut off from its primary;
- ``BUSY Redis is busy running a script.`` (or a function, or a module's
  command): another client's script past ``busy-reply-threshold``;
- ``MISCONF ...`` (``... unable to persist to disk``, ``Errors writing to
  the AOF file``): a failed save with ``stop-writes-on-bgsave-error``;
- ``NOREPLICAS Not enough good replicas to write.``
  (``min-replicas-to-write``);
- ``UNBLOCKED force unblock from blocking operation, instance state
  changed (master -> replica?)``: a blocked command (BLMOVE) ended
  unserved when its primary became a replica (or ``CLIENT UNBLOCK ...
  ERROR``);
- a cluster's ``CLUSTERDOWN`` (``The cluster is down``, ``Hash slot not
  served``; `ClusterDownError`) and ``TRYAGAIN`` (a multi-key command
  during a slot's migration; `TryAgainError`), and redis-py's cluster
  client giving up: ``TTL exhausted.`` (`ClusterError`: 16 attempts each
  redirected by MOVED or ASK, or told to TRYAGAIN: none ran),
  `SlotNotCoveredError`, and the `RedisClusterException` its reload of
  the slots raises: ``All slots are not covered after query all
  startup_nodes`` (after a CLUSTERDOWN), ``Redis Cluster cannot be
  connected.`` (no node answers: it is read here, not its cause, so that
  its retries count).

redis-py takes the code off the replies it has a class for and keeps the
rest whole (``BUSY ...``); it notes a pipeline's command before them
(``Command # 2 (SET k v) of pipeline caused error: ...``); its
`ExecAbortError` says why Redis discarded a transaction (``Transaction
discarded because of: OOM ...``). A refusal is still LOST when more of the
request's commands may have run:

- a non-transactional pipeline runs each command on its own, and redis-py
  raises the first error after reading every reply (``raise_first_error``,
  whose ``response`` it reads here): the refusal of ``Command # 2`` after
  an LPOP ran, or of ``Command # 1`` before a command that ran, is LOST;
  one whose every reply is a refusal is REFUSED;
- MULTI/EXEC: a command refused as it is queued makes Redis discard the
  transaction (EXECABORT), and redis-py raises that command's refusal:
  nothing ran, REFUSED; a refusal among EXEC's replies (a script's, after
  the others ran) goes through ``raise_first_error``, as above;
- a script (EVAL, FCALL) is refused before its first write only (script.c:
  "If the script already made a modification to the dataset, we can't
  fail it on unpredictable error state"): its refusal (``... script:
  <sha>, on @user_script:1.``) is REFUSED;
- after an attempt that failed, as for a refused connection above (the
  command's ``call_with_retry``, whose count does not include a reply's
  error, and the cluster client's ``failure_count``), and when raised while
  handling a LOST error: LOST.

Anything else of redis-py is the app's bug or configuration, a 500: a
wrong password (`AuthenticationError`, also a ``ConnectionError``;
``NOAUTH``), TLS refused or a certificate file that is not there (worded
as a connect's error), a missing permission (``NOPERM``), a wrong command
or type (``WRONGTYPE``), a script it never loaded (``NOSCRIPT``), a key or
a group that exists (``BUSYKEY``, ``BUSYGROUP``), keys of a command in
several slots (``CROSSSLOT``), a database number the server does not
have.
"""

from __future__ import annotations

import re
import socket
from types import FrameType
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
#: The codes of Redis's replies refusing a command for a state the server is in.
_REFUSING: Final = frozenset(
    {"OOM", "READONLY", "MASTERDOWN", "BUSY", "MISCONF", "NOREPLICAS", "UNBLOCKED"}
    | {"CLUSTERDOWN", "TRYAGAIN"}
)
#: redis-py's classes of refusing replies, whose code it takes off their words.
_REPLY_CLASSES: Final = {
    "OutOfMemoryError": "OOM",
    "ReadOnlyError": "READONLY",
    "MasterDownError": "MASTERDOWN",
    "ClusterDownError": "CLUSTERDOWN",
    "TryAgainError": "TRYAGAIN",
}
#: redis-py's note before the error of a pipeline's command.
_PIPELINE_NOTE: Final = re.compile(r"^Command # \d+ \(.*?\) of pipeline caused error: ", re.DOTALL)
#: Redis's words before the reply that made it discard a transaction (EXECABORT).
_DISCARDED: Final = "Transaction discarded because of: "
#: redis-py's cluster client giving up on a command that never ran.
_CLUSTER_GAVE_UP: Final = re.compile(
    r"^(?:TTL exhausted\.$|All slots are not covered after query all startup_nodes"
    r"|Redis Cluster cannot be connected\.)"
)
#: The code of redis-py's cluster client giving up (no reply of Redis's own).
_CLUSTER: Final = "CLUSTER"
#: What each refusal says to the client (the answer's detail).
_REASONS: Final = {
    "OOM": "Redis is out of memory (maxmemory) and refuses writes",
    "READONLY": "Redis is a read-only replica (a failover?) and refuses writes",
    "MASTERDOWN": "Redis is a replica that lost its primary",
    "BUSY": "Redis is busy running a script",
    "MISCONF": "Redis cannot save its data to disk and refuses writes",
    "NOREPLICAS": "Redis has too few replicas in reach to take writes",
    "UNBLOCKED": "Redis's primary became a replica (a failover) under a blocked command",
    "CLUSTERDOWN": "the Redis cluster is down",
    "TRYAGAIN": "the Redis cluster is moving the keys (resharding)",
    _CLUSTER: "the Redis cluster could not route the command",
}
#: redis-py's cluster client's retry loops, whose ``failure_count`` counts the failed attempts.
_CLUSTER_LOOPS: Final = frozenset({"_internal_execute_command", "execute_command"})


def redis_outage(error: BaseException) -> OutageKind | None:
    """The outage kind of a redis-py error, or None (not redis-py's, or the app's own)."""
    if isinstance(error, RuntimeError):
        closed = _HANDLER_CLOSED.match(str(error))
        return OutageKind.LOST if closed and innermost_package(error) == "redis" else None
    names = _redis_classes(error)
    if not names or names & _CONFIGURATION:
        return None
    if _refusing(error, names):
        return _refusal(error)
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


def _refusing(error: BaseException, names: set[str]) -> bool:
    """Whether `error` is Redis (or redis-py's cluster client) refusing to run a command."""
    return _refusal_code(error, names) is not None


def _refusal_code(error: BaseException, names: set[str]) -> str | None:
    """The code of the refusal `error` is (``OOM``; ``CLUSTER``: the cluster client), or None."""
    if "SlotNotCoveredError" in names:
        return _CLUSTER
    if names & {"ClusterError", "RedisClusterException"} and _CLUSTER_GAVE_UP.match(str(error)):
        return _CLUSTER
    words = _PIPELINE_NOTE.sub("", str(error), count=1)
    if "ExecAbortError" in names:
        code = words.removeprefix(_DISCARDED).partition(" ")[0]
    else:
        classes = (_REPLY_CLASSES.get(kind.__name__) for kind in type(error).__mro__)
        code = next((code for code in classes if code), words.partition(" ")[0])
    return code if code in _REFUSING else None


def redis_reason(error: BaseException) -> str | None:
    """Why Redis refused `error`'s command, in the client's words; None if it is no refusal."""
    code = _refusal_code(error, _redis_classes(error))
    return _REASONS.get(code) if code is not None else None


def _refusal(error: BaseException) -> OutageKind:
    """REFUSED: nothing ran; LOST if another command of the request's may have."""
    context = error.__context__
    if context is not None and redis_outage(context) is OutageKind.LOST:
        return OutageKind.LOST
    if _pipeline_ran(error) or _retried(error, counted=False):
        return OutageKind.LOST
    return OutageKind.REFUSED


def _pipeline_ran(error: BaseException) -> bool:
    """Whether a command of the pipeline whose reply `error` is may have run.

    redis-py's ``raise_first_error`` (``_raise_first_error`` of its cluster
    pipelines) raises the first error among a pipeline's replies: unless
    every reply (its ``response``) is a refusal, a command ran.
    """
    for frame in traceback_frames(error.__traceback__):
        if frame.f_code.co_name.lstrip("_") != "raise_first_error" or not _of_redis(frame):
            continue
        replies = frame.f_locals.get("response")
        if not isinstance(replies, list):
            return True  # a pipeline whose replies cannot be read here: any may have run
        return not all(_refused_reply(reply) for reply in replies)
    return False


def _refused_reply(reply: object) -> bool:
    return isinstance(reply, BaseException) and _refusing(reply, _redis_classes(reply))


def _redis_classes(error: BaseException) -> set[str]:
    """The names of redis-py's classes among `error`'s (none: not redis-py's error)."""
    return {
        kind.__name__
        for kind in type(error).__mro__
        if kind.__module__.partition(".")[0] == "redis"
    }


def _retried(error: BaseException, *, counted: bool = True) -> bool:
    """Whether redis-py's retry of the command may have sent it before the attempt that failed.

    The command's retry loop is a ``call_with_retry`` frame of redis-py's
    whose caller is no connect (``connect_check_health`` retries a
    connect alone, the pool's ``get_connection`` connects before any
    command); its ``failures`` counts the attempts that failed, the last
    included if `counted` (a connection's error, which it retries; a
    reply's error is raised as it is). The cluster client's loop counts
    the attempts that failed before the last in its ``failure_count``.
    """
    caller = ""  # the function that called the retry loop (one may call another)
    for frame in traceback_frames(error.__traceback__):
        function = frame.f_code.co_name
        ours = _of_redis(frame)
        if ours and function in _CLUSTER_LOOPS:
            earlier = frame.f_locals.get("failure_count")
            if isinstance(earlier, int) and earlier > 0:
                return True
        if function != "call_with_retry" or not ours:
            caller = function
            continue
        if _CONNECTING.search(caller):
            continue
        failures = frame.f_locals.get("failures")
        return not (isinstance(failures, int) and failures <= counted)
    return False


def _of_redis(frame: FrameType) -> bool:
    """Whether `frame` runs redis-py's code."""
    module = frame.f_globals.get("__name__")
    return isinstance(module, str) and module.partition(".")[0] == "redis"
