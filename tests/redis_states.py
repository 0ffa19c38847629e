"""A private Redis put for real in a state in which it refuses commands, and back.

Each is a context manager over a `PrivateRedis` (tests/private_redis.py),
never the machine's Redis, that leaves the server as it found it:

- `out_of_memory`: ``maxmemory`` 1 byte, ``noeviction``: ``-OOM`` to every
  command that may grow memory (a read still answers);
- `read_only`: ``REPLICAOF`` another private server (its data replaces this
  one's): ``-READONLY`` to every write;
- `master_down`: a replica whose primary is stopped, with
  ``replica-serve-stale-data no``: ``-MASTERDOWN`` to reads and writes;
- `busy`: another client's script running past ``lua-time-limit``
  (``busy-reply-threshold``), 50 ms: ``-BUSY`` to every command;
- `persistence_failed`: a background save failed (its directory is gone),
  with ``stop-writes-on-bgsave-error yes``: ``-MISCONF`` to every write;
- `no_replicas`: ``min-replicas-to-write 1`` and no replica:
  ``-NOREPLICAS`` to every write.

`persistence_failed` moves the server's directory (``CONFIG SET dir``), which
Redis 7 allows only to a server started with ``--enable-protected-configs
yes`` (`PROTECTED`, `protected`).
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

import redis

from tests.private_redis import PrivateRedis

#: The option a server needs for `persistence_failed`.
PROTECTED: Final = ("--enable-protected-configs", "yes")
#: A primary's options: it sends its data to a new replica at once. By default it
#: waits ``repl-diskless-sync-delay`` (5 s) for more replicas to share the transfer:
#: each replica came in sync 5.1 s after REPLICAOF, now 0.13 s.
PROMPT_SYNC: Final = ("--repl-diskless-sync-delay", "0")
#: Seconds a state is waited for before the test gives up.
WAIT: Final = 10.0
#: A script that runs until it is killed (SCRIPT KILL), or 20 s at most.
_SPIN: Final = """
local began = redis.call('TIME')
while true do
  local now = redis.call('TIME')
  if now[1] - began[1] > 20 then return 0 end
end
"""


def protected(server: PrivateRedis) -> PrivateRedis:
    """`server` restarted (same port) with `PROTECTED`, for `persistence_failed`."""
    server.stop()
    server.options = (*server.options, *PROTECTED)
    server.start()
    return server


def _until(ready: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not ready():
        assert time.monotonic() < deadline, f"Redis was never {what}"
        time.sleep(0.02)


@contextmanager
def out_of_memory(server: PrivateRedis) -> Iterator[None]:
    with server.admin() as admin:
        admin.config_set("maxmemory-policy", "noeviction")
        admin.config_set("maxmemory", 1)
        try:
            yield
        finally:
            admin.config_set("maxmemory", 0)


def _link_up(replica: PrivateRedis) -> bool:
    with replica.admin() as admin:
        return bool(admin.info("replication").get("master_link_status") == "up")


@contextmanager
def _replica_of(server: PrivateRedis) -> Iterator[PrivateRedis]:
    """`server` a replica of a private primary of its own, its data replaced by the primary's."""
    primary = PrivateRedis(
        server.binary, Path(tempfile.mkdtemp(prefix="redis-primary-")), options=PROMPT_SYNC
    )
    primary.start()
    try:
        with server.admin() as admin:
            admin.replicaof("127.0.0.1", primary.port)
            try:
                _until(lambda: _link_up(server), "in sync with its primary")
                yield primary
            finally:
                admin.replicaof("NO", "ONE")
    finally:
        primary.stop()
        shutil.rmtree(primary.directory, ignore_errors=True)


@contextmanager
def read_only(server: PrivateRedis) -> Iterator[PrivateRedis]:
    """A replica, its link to its (yielded) primary up."""
    with _replica_of(server) as primary:
        yield primary


@contextmanager
def master_down(server: PrivateRedis) -> Iterator[None]:
    with _replica_of(server) as primary, server.admin() as admin:
        admin.config_set("replica-serve-stale-data", "no")
        try:
            primary.stop()
            _until(lambda: not _link_up(server), "cut off from its primary")
            yield
        finally:
            admin.config_set("replica-serve-stale-data", "yes")


def _answers_busy(server: PrivateRedis) -> bool:
    try:
        with server.admin() as admin:
            admin.ping()
    except redis.exceptions.ResponseError as error:
        return str(error).startswith("BUSY ")
    return False


@contextmanager
def busy(server: PrivateRedis) -> Iterator[None]:
    with server.admin() as admin:
        admin.config_set("lua-time-limit", 50)
    runner = threading.Thread(target=_spin, args=(server,))
    runner.start()
    try:
        _until(lambda: _answers_busy(server), "busy")
        yield
    finally:
        _until(lambda: _script_killed(server) or not runner.is_alive(), "done with the script")
        runner.join()
        with server.admin() as admin:
            admin.config_set("lua-time-limit", 5000)


def _script_killed(server: PrivateRedis) -> bool:
    """SCRIPT KILL: whether it killed a script (NOTBUSY: none running, or not yet)."""
    with server.admin() as admin:
        try:
            return bool(admin.script_kill())
        except redis.exceptions.ResponseError as error:
            if not str(error).startswith("NOTBUSY"):
                raise
            return False


def _spin(server: PrivateRedis) -> None:
    with redis.Redis(host=server.bind[0], port=server.port, socket_timeout=30) as client:
        try:
            client.eval(_SPIN, 0)
        except redis.exceptions.ResponseError as error:
            if "killed" not in str(error).lower():
                raise


@contextmanager
def persistence_failed(server: PrivateRedis) -> Iterator[None]:
    gone = Path(tempfile.mkdtemp())
    with server.admin() as admin:
        admin.config_set("dir", str(gone))
        gone.rmdir()  # the save's file cannot be made there, not even by root
        admin.config_set("save", "3600 1")
        admin.config_set("stop-writes-on-bgsave-error", "yes")
        try:
            admin.bgsave()
            _until(
                lambda: admin.info("persistence")["rdb_last_bgsave_status"] == "err",
                "failing to save",
            )
            yield
        finally:
            admin.config_set("save", "")
            admin.config_set("dir", str(server.directory))


@contextmanager
def no_replicas(server: PrivateRedis) -> Iterator[None]:
    with server.admin() as admin:
        admin.config_set("min-replicas-to-write", 1)
        try:
            yield
        finally:
            admin.config_set("min-replicas-to-write", 0)
