"""Teardown functions that meet a database outage after the view's answer was formed.

Theory of operation: Flask runs an app's teardown functions
(``teardown_request``, ``teardown_appcontext``: Flask-SQLAlchemy's
``session.remove()``) after the view's answer was formed and handed to the
server, outside every error handler; one that raises makes ``wsgi_app``
raise, the formed answer is dropped, and the server answers its plain 500.
A session closed on a connection the database ended meanwhile (a restart,
a failover, ``pg_terminate_backend``) does exactly that: its ROLLBACK
raises. What the answer says is still true then: what the view committed
is committed, and what the close was rolling back is rolled back with the
lost connection. A 500 would tell a user whose save was committed that it
failed, and the save would be made again.

So each teardown function is run guarded (`guard_teardowns`, once, at the
app's first request: Flask takes no new ones after it): a database outage
it raises is logged under an incident id and the formed answer goes out.
The one exception is a teardown that COMMITS a write (Flask-SQLAlchemy 2's
``SQLALCHEMY_COMMIT_ON_TEARDOWN``) whose COMMIT fails (the database hooks
count it, `RequestWrites.failed_commits`; without them, where it was raised
tells): the answer formed says that the
write was made, which nobody knows now. That outage goes on to
`TeardownAnswers`, around ``wsgi_app``, which answers it as the view's
would have been answered: 504 outcome-unknown for a write, 503 for a read
(the answer already started is replaced, as PEP 3333 allows before
anything is sent). Any other error of a teardown is the app's, left as
Flask leaves it.
"""

from __future__ import annotations

import functools
import logging
import sys
import threading
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Final

from flask import Flask

from .._errors import problem_and_fields
from .._incidents import log_incident, new_incident
from .._late_errors import raised_by_commit
from .._outage import outage, outage_error
from .._problem import MEDIA_TYPE
from .._request_writes import watching_writes

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["TeardownAnswers", "guard_teardowns"]

#: Set on a guarded teardown function, so that it is guarded once.
_GUARDED: Final = "__httpconflict_guarded__"

TeardownFunction = Callable[[BaseException | None], Any]


class CommitFailed(Exception):
    """A teardown function's COMMIT of a write met a database outage (`error`)."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


def guard_teardowns(app: Flask) -> None:
    """Run each of `app`'s teardown functions guarded (again: nothing more is done)."""
    for functions in app.teardown_request_funcs.values():
        functions[:] = [_guarded(app, f) for f in functions]
    app.teardown_appcontext_funcs[:] = [_guarded(app, f) for f in app.teardown_appcontext_funcs]


def _guarded(app: Flask, function: TeardownFunction) -> TeardownFunction:
    if getattr(function, _GUARDED, False):
        return function
    name = getattr(function, "__qualname__", repr(function))

    @functools.wraps(function)
    def guarded(error: BaseException | None) -> None:
        # The request's own watch, in a teardown_request; a watch of its own after it.
        with watching_writes() as writes:
            failed = writes.failed_commits
            try:
                app.ensure_sync(function)(error)
            except Exception as raised:
                if outage(raised) is None:
                    raise  # the app's own error
                if writes.failed_commits > failed or raised_by_commit(raised):
                    raise CommitFailed(raised) from raised
                log_incident(
                    new_incident(),
                    f"the teardown function {name} met a database outage after the answer "
                    "was formed; the answer formed stands (what the view committed is "
                    "committed, what was left open is rolled back)",
                    raised,
                    level=logging.WARNING,
                )

    setattr(guarded, _GUARDED, True)
    return guarded


class TeardownAnswers:
    """``wsgi_app`` around Flask's: guards its teardowns, answers a teardown's failed COMMIT."""

    def __init__(self, app: Flask, wsgi_app: WSGIApplication) -> None:
        self.flask = app
        self.wsgi_app = wsgi_app
        self._guarded = False
        self._lock = threading.Lock()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if not self._guarded:
            with self._lock:
                guard_teardowns(self.flask)
                self._guarded = True
        try:
            return self.wsgi_app(environ, start_response)
        except CommitFailed as failed:
            exc_info = sys.exc_info()
            method = str(environ.get("REQUEST_METHOD", "POST"))
            # Its handler ran, and what it wrote may be in the database: a write's outcome
            # is unknown (504).
            problem = outage_error(failed.error, method, handler_ran=True)
            assert problem is not None  # `outage` found one
            details, fields = problem_and_fields(problem)
            body = details.to_json()
            headers = [
                ("Content-Type", MEDIA_TYPE),
                ("Content-Length", str(len(body))),
                *fields.items(),
            ]
            status = details.status or 503
            start_response(f"{status} {HTTPStatus(status).phrase}", headers, exc_info)
            return [body]
