"""Errors raised after the app formed its answer: what the client is told then.

Theory of operation: frameworks run code of the app's after its view has
formed the answer: FastAPI the exit of a ``yield`` dependency (after the
answer was sent, in its default scope), Flask its teardown functions. A
database session ended there meets the outages a view meets (its
connection ended by a restart, a failover, ``pg_terminate_backend``), and
what the answer says decides what to do with it:

- the session's close (a ROLLBACK of what was left open) failed: the
  answer is still true. What the view committed is committed, and what the
  close was rolling back is rolled back with the lost connection. The
  answer formed goes out (or stays out), the outage is logged: a 500, or a
  dropped connection, would tell a user whose save was made that it failed,
  and the save would be made again (`AfterAnswer.STANDS`);
- the session's COMMIT failed (``async with session.begin(): yield
  session``, Flask-SQLAlchemy's commit on teardown): the answer claims a
  write nobody knows happened. Not yet sent, it is replaced by the
  outage's answer, 504 outcome-unknown for a write, a 503 for one the
  database says it rolled back whole (`REPLACED`); already
  sent, it cannot be taken back, and the log says so louder (`TOO_LATE`);
- the database refused the COMMIT (a DEFERRABLE INITIALLY DEFERRED unique
  constraint, checked at COMMIT; a flush at COMMIT that breaks one): the
  answer claims a write that was not made, and nothing was stored. Not yet
  sent, it is replaced by what the same violation raised in the view is
  answered with, the 409 naming the field (`REFUSED`); already sent, it is
  logged as `TOO_LATE`;
- any other error is the app's own: a background task's, after an answer
  that stands (it goes out, and the error goes on to the server's log,
  `APP_ERROR`); or a COMMIT's that failed otherwise, or one raised before
  the answer was whole, whose answer is the framework's 500 (`RAISE`).

So a write's answer waits until the app has returned (`holds_answer`): its
COMMIT may come after it. A read's answer (GET, HEAD), and a write's
answer streamed in parts (server-sent events, a download), are not held:
a read's close changes nothing, and a stream is its client's as it comes.

Where the code that decides is inside the app and the answer is made
outside it (Flask's teardown functions run inside ``wsgi_app``), the app
raises `AnswerReplaced` with the answer decided: whatever is around it (a
WSGI idempotency middleware, ``install``'s wrapper of ``wsgi_app``)
answers that problem, as the app's own answer, and a key records it.
"""

from __future__ import annotations

import enum

from ._errors import ProblemError
from ._integrity import classify
from ._outage import outage
from ._outage_socket import raised_by_commit
from ._preconditions import SAFE_METHODS
from ._problem import ProblemDetails

__all__ = ["AfterAnswer", "AnswerReplaced", "after_answer", "holds_answer", "raised_by_commit"]


class AfterAnswer(enum.Enum):
    """What becomes of the answer when the app raises after forming it."""

    #: The answer formed goes out (or went out); the error is logged.
    STANDS = "stands"
    #: The answer, not sent yet, claims a COMMIT that failed: the outage is answered instead.
    REPLACED = "replaced"
    #: The answer, not sent yet, claims a COMMIT the database refused (an integrity
    #: violation): the violation is answered instead (409), as if raised in the view.
    REFUSED = "refused"
    #: The same, but the answer went out already: it is logged as a save that may be lost.
    TOO_LATE = "too late"
    #: The app's own error after an answer that stands: the answer goes out, the error on.
    APP_ERROR = "app error"
    #: The app's own error, which its answer does not survive: the framework's 500.
    RAISE = "raise"


class AnswerReplaced(Exception):  # not an error: the app's answer, late
    """Raised by the app once its formed answer is found untrue (`REPLACED`, `REFUSED`).

    `problem` is the app's answer instead (the 504 of an outage, the 409 of a
    refused COMMIT); `error` is what was raised.
    """

    def __init__(self, problem: ProblemDetails | ProblemError, error: BaseException) -> None:
        super().__init__(str(error))
        self.problem = problem
        self.error = error


def holds_answer(method: str, *, streamed: bool) -> bool:
    """Whether an answer waits for the app to return before it goes out.

    A write's (any method but GET and HEAD) that is not `streamed` (in
    parts, as it is made): its COMMIT may still come after it
    (`AfterAnswer.REPLACED`).
    """
    return not streamed and method.upper() not in SAFE_METHODS


def after_answer(
    error: BaseException, *, formed: bool, sent: bool, commit_failed: bool
) -> AfterAnswer:
    """What `error`, raised by the app after its answer, does to the answer.

    `formed`: the answer was whole (its last body message) when it was
    raised; `sent`: the answer went out already; `commit_failed`: the
    database hooks counted a failed COMMIT of a write since it was formed
    (`RequestWrites.failed_commits`).
    """
    if not formed:
        return AfterAnswer.RAISE
    committing = commit_failed or raised_by_commit(error)
    if outage(error) is None:
        if committing and classify(error) is not None:
            return AfterAnswer.TOO_LATE if sent else AfterAnswer.REFUSED
        return AfterAnswer.RAISE if committing else AfterAnswer.APP_ERROR
    if not committing:
        return AfterAnswer.STANDS
    return AfterAnswer.TOO_LATE if sent else AfterAnswer.REPLACED
