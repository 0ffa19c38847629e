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
app's first request: Flask takes no new ones after it), and what it raises
is weighed as the core weighs an error raised after the answer was formed
(`_late_errors.after_answer`):

- a database outage of a close: logged under an incident id, and the
  formed answer goes out;
- a teardown that COMMITS a write (``db.session.commit()`` in
  ``teardown_appcontext``, Flask-SQLAlchemy 2's
  ``SQLALCHEMY_COMMIT_ON_TEARDOWN``) whose COMMIT fails (the database hooks
  count it, `RequestWrites.failed_commits`; without them, where it was
  raised tells): the answer formed says that the write was made, which
  nobody knows now. It is replaced by the outage's answer, as the view's
  would have been answered: 504 outcome-unknown for a write, 503 for a read
  (and for a write the database says it rolled back whole: a deadlock, a
  serialization failure);
- a COMMIT the database refuses (a DEFERRABLE INITIALLY DEFERRED
  constraint, checked at COMMIT): the answer formed claims a write that was
  not made, and nothing was stored. It is replaced by the answer the same
  violation raised in the view gets from ``install``'s handler (its policy
  and catalog): the 409 naming the field;
- a COMMIT that fails otherwise after ``install``'s handler answered a
  database error of the view's (``if error is None: session.commit()``:
  Flask hands a teardown no error that a handler answered, and the view's
  failed transaction refuses to commit): that answer (the 409) stands.

A replaced answer is raised as `AnswerReplaced`, out of ``wsgi_app``, to
`TeardownAnswers`, around it, which answers it (the answer already started
is replaced, as PEP 3333 allows before anything is sent); a WSGI
`IdempotencyMiddleware` between the two takes it as the app's answer and
records it under the request's key. Any other error of a teardown is the
app's, left as Flask leaves it.
"""

from __future__ import annotations

import functools
import logging
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Final

from flask import Flask, g

from .._errors import problem_and_fields
from .._incidents import describe, log, log_incident, new_incident
from .._late_errors import AfterAnswer, AnswerReplaced, after_answer
from .._outage import outage_error
from .._problem import MEDIA_TYPE, ProblemDetails
from .._request_writes import watching_writes

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["DATABASE_ERROR_ANSWERED", "Refusal", "TeardownAnswers", "guard_teardowns"]

#: In ``g``: the status ``install``'s handler answered a database error of the view's with.
DATABASE_ERROR_ANSWERED: Final = "httpconflict_database_error_answered"

#: Set on a guarded teardown function, so that it is guarded once.
_GUARDED: Final = "__httpconflict_guarded__"

TeardownFunction = Callable[[BaseException | None], Any]
#: The problem answering the integrity violation an error reports (None: not one), as
#: ``install``'s handler answers it when a view raises it.
Refusal = Callable[[BaseException], ProblemDetails | None]

#: The method of the request `TeardownAnswers` is running: Flask's request is gone by the
#: time its ``teardown_appcontext`` functions run.
_METHOD: Final[ContextVar[str]] = ContextVar("httpconflict_flask_method", default="POST")


def guard_teardowns(app: Flask, refusal: Refusal) -> None:
    """Run each of `app`'s teardown functions guarded (again: nothing more is done)."""
    for functions in app.teardown_request_funcs.values():
        functions[:] = [_guarded(app, f, refusal) for f in functions]
    app.teardown_appcontext_funcs[:] = [
        _guarded(app, f, refusal) for f in app.teardown_appcontext_funcs
    ]


def _guarded(app: Flask, function: TeardownFunction, refusal: Refusal) -> TeardownFunction:
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
                decision = after_answer(
                    raised,
                    formed=True,
                    sent=False,
                    commit_failed=writes.failed_commits > failed,
                )
                if decision is AfterAnswer.REPLACED:
                    # Its handler ran, and what it wrote may be in the database: a write's
                    # outcome is unknown (504), unless the database rolled it back (503).
                    problem = outage_error(raised, _METHOD.get(), handler_ran=True)
                    assert problem is not None  # `after_answer` found the outage
                    raise AnswerReplaced(problem, raised) from raised
                if decision is AfterAnswer.REFUSED:
                    refused = refusal(raised)
                    assert refused is not None  # `after_answer` found the violation
                    raise AnswerReplaced(refused, raised) from raised
                answered = g.get(DATABASE_ERROR_ANSWERED)
                if decision is AfterAnswer.RAISE and answered is not None:
                    # ``if error is None: db.session.commit()``: Flask passes no error once a
                    # handler answered it, and the view's failed transaction refuses its
                    # COMMIT (SQLAlchemy's PendingRollbackError). That answer is still true.
                    log.info(
                        "the teardown function %s committed after the view's database error "
                        "was answered %s; that answer stands: %s",
                        name,
                        answered,
                        describe(raised),
                    )
                    return
                if decision is not AfterAnswer.STANDS:
                    raise  # the app's own error
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


@contextmanager
def _running(method: str) -> Iterator[None]:
    token = _METHOD.set(method)
    try:
        yield
    finally:
        _METHOD.reset(token)


class TeardownAnswers:
    """``wsgi_app`` around Flask's: guards its teardowns, answers an answer they replaced."""

    def __init__(self, app: Flask, wsgi_app: WSGIApplication, refusal: Refusal) -> None:
        self.flask = app
        self.wsgi_app = wsgi_app
        self.refusal = refusal
        self._guarded = False
        self._lock = threading.Lock()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if not self._guarded:
            with self._lock:
                guard_teardowns(self.flask, self.refusal)
                self._guarded = True
        try:
            with _running(str(environ.get("REQUEST_METHOD", "POST"))):
                return self.wsgi_app(environ, start_response)
        except AnswerReplaced as replaced:
            exc_info = sys.exc_info()
            details, fields = problem_and_fields(replaced.problem)
            body = details.to_json()
            headers = [
                ("Content-Type", MEDIA_TYPE),
                ("Content-Length", str(len(body))),
                *fields.items(),
            ]
            status = details.status or 500
            start_response(f"{status} {HTTPStatus(status).phrase}", headers, exc_info)
            return [body]
