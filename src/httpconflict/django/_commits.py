"""Django's commits, told to the request that made them (`httpconflict._request_writes`).

Theory of operation: an execute wrapper on every database connection
(added as each connects, `connection_created`) sees each statement a
request runs. One that writes (`writes`) counts for the request once it is
committed: at once in autocommit mode (Django's default outside
``transaction.atomic()``: the statement committed itself), else when the
outermost atomic block commits (``on_commit``, which Django drops with a
transaction that rolls back). Each statement is told before it is sent
(`note_statement`: one that may write makes a lost connection after it a
504, unless PostgreSQL holds it in a transaction block whose COMMIT is
never sent), with the driver's connection it goes on, and its error as it
is raised (`note_failure`). Django's COMMIT and the statements of a
connection it opens pass the wrapper by: `_own_statements` tells their
errors; a COMMIT that went through shows at the connection's next
statement, outside the block its writes were held in.
`ProblemMiddleware` watches each request;
the idempotency middlewares watch the requests they run. A write sent
where no request is watched (a middleware above `ProblemMiddleware`, on
the way in) is the next watched request's to count as sent, in its
thread; each request's start (``request_started``) forgets the ones sent
before it, so that a write on the way out of one request (an audit row)
is not the next one's on a thread the server reuses (`forget_unwatched`).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from django.core.signals import request_started
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created

from .._request_writes import (
    current_writes,
    database_name,
    forget_unwatched,
    note_failure,
    note_statement,
    writes,
)


def database_of(connection: BaseDatabaseWrapper) -> str:
    """The database `connection` reaches, as `_request_writes` names it."""
    settings = connection.settings_dict
    host, port, name = settings.get("HOST"), settings.get("PORT"), settings.get("NAME")
    return database_name(connection.vendor, host, port, str(name or ""))


def _watch(execute: Any, sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
    connection: BaseDatabaseWrapper = context["connection"]
    driver = connection.connection
    note_statement(sql, driver, vendor=connection.vendor)
    try:
        result = execute(sql, params, many, context)
    except Exception as error:
        note_failure(error, driver)
        raise
    record = current_writes()
    if record is None or not writes(sql):
        return result
    if connection.in_atomic_block:
        connection.on_commit(partial(record.add, database_of(connection)))
    elif connection.get_autocommit():
        record.add(database_of(connection))
    return result


def _add_wrapper(connection: BaseDatabaseWrapper, **_: Any) -> None:
    if _watch not in connection.execute_wrappers:
        connection.execute_wrappers.append(_watch)


def _connected(sender: Any, connection: BaseDatabaseWrapper, **_: Any) -> None:
    _add_wrapper(connection)


def _request_started(sender: Any, **_: Any) -> None:
    forget_unwatched()  # sent before this request began: no request's, or an ended one's


def track_commits() -> None:
    """Watch every connection's statements (those of this thread open now, and each new one)."""
    connection_created.connect(_connected, dispatch_uid="httpconflict.django.commits")
    request_started.connect(_request_started, dispatch_uid="httpconflict.django.unwatched")
    for connection in connections.all(initialized_only=True):
        _add_wrapper(connection)
