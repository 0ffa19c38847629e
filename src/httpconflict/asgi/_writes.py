"""ASGI middleware: the commits of each request are watched (`httpconflict._request_writes`).

An outage answered after a transaction of the request committed a write is
then a 504 ``outcome-unknown``, not a 503 ``unavailable`` (which tells the
client that nothing was applied, so that it sends the request again).
A request that raised after one is marked (`RAISED_AFTER_COMMIT`), so
that the 500 it gets says part of it was applied. `httpconflict.starlette.install`
adds it; an `IdempotencyMiddleware` watches the requests it runs itself.

It also answers what the app raises after its answer was formed
(`httpconflict._late_errors`): FastAPI exits a ``yield`` dependency, which
closes or commits the request's database session, after the answer was
sent. A write's answer is held back until the app returns, so that a
COMMIT there that fails is answered 504 outcome-unknown, and one the
database refuses (a deferred constraint) with the 409 its violation gets in
the view (`Refusal`), never with the view's 200 for a save not made; an
outage of a close there is logged, and the answer formed goes out. Either
way the app returns, where it raised: Starlette then raised "response
already started" and the server closed the connection under the client's
next request on it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Final

from .._errors import problem_and_fields
from .._incidents import log_incident, new_incident
from .._integrity import classify
from .._integrity_policy import DEFAULT_POLICY
from .._late_errors import AfterAnswer, after_answer, holds_answer
from .._outage import outage_error
from .._problem import ProblemDetails
from .._request_writes import RequestWrites, forget_unwatched, watching_writes
from .problems import send_problem
from .types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "ANSWER_BEGAN",
    "RAISED_AFTER_COMMIT",
    "REFUSAL_SCOPE_KEY",
    "Refusal",
    "WriteWatchMiddleware",
    "log_answer_stands",
    "refusal_of",
    "unwrapped",
]

#: In the scope of a request that raised after a transaction of it committed a write.
RAISED_AFTER_COMMIT = "httpconflict.raised_after_commit"
#: In the scope of a request whose answer began to go out: its status. An error raised after
#: it reaches the 500 handler outside (Starlette's), whose answer is never sent.
ANSWER_BEGAN = "httpconflict.answer_began"

#: The problem answering an integrity violation (None: not one), as the app's handlers answer
#: it when its view raises it: what a COMMIT refused after the answer is answered with.
Refusal = Callable[[Exception], Awaitable[ProblemDetails | None]]

#: In the scope of each watched request: its `Refusal`, for an `IdempotencyMiddleware`
#: inside, which records the answer of a COMMIT refused after the app's answer.
REFUSAL_SCOPE_KEY: Final = "httpconflict.refusal"


async def default_refusal(error: Exception) -> ProblemDetails | None:
    """The violation `error` reports, as the default `IntegrityPolicy` answers it (409)."""
    violation = classify(error)
    return None if violation is None else DEFAULT_POLICY.problem(violation)


def refusal_of(scope: Scope) -> Refusal:
    """The `Refusal` of the watch around the request, or the default policy's."""
    refusal = scope.get(REFUSAL_SCOPE_KEY)
    return refusal if callable(refusal) else default_refusal


class WriteWatchMiddleware:
    """Watch the commits of each HTTP request to `app`; answer what it raises after answering."""

    def __init__(
        self, app: ASGIApp, *, hold_answers: bool = True, refusal: Refusal = default_refusal
    ) -> None:
        self.app = app
        #: Whether a write's answer waits for the app to return (`_late_errors.holds_answer`).
        self.hold_answers = hold_answers
        #: How a COMMIT refused after a held answer is answered instead.
        self.refusal = refusal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                forget_unwatched()  # the app's import and factory: no request's writes
            await self.app(scope, receive, send)
            return
        scope[REFUSAL_SCOPE_KEY] = self.refusal

        async def out(message: Message) -> None:
            if message["type"] == "http.response.start":
                scope[ANSWER_BEGAN] = message["status"]
            await send(message)

        with watching_writes() as writes:
            answer = _Answer(out, scope["method"], writes, hold=self.hold_answers)
            try:
                await self.app(scope, receive, answer.send)
            except Exception as error:
                if writes.committed > 0:
                    # For the 500 handler, which runs outside (Starlette's ServerErrorMiddleware).
                    scope[RAISED_AFTER_COMMIT] = True
                raised = unwrapped(error)
                decision = after_answer(
                    raised,
                    formed=answer.formed,
                    sent=answer.held is None,
                    commit_failed=writes.failed_commits > answer.failed_commits,
                )
                if decision is AfterAnswer.RAISE:
                    raise  # what was held is no answer: the server's 500
                if decision is AfterAnswer.APP_ERROR:
                    await answer.release()
                    raise  # to the server's log, after the answer that stands
                await _answer_late(scope, answer, raised, decision, self.refusal)
            else:
                await answer.release()


class _Answer:
    """The app's answer on its way out: a write's held back until the app returns."""

    def __init__(self, send: Send, method: str, writes: RequestWrites, *, hold: bool) -> None:
        #: The server's: what goes out.
        self.out = send
        self._method = method
        self._writes = writes
        self._hold = hold
        #: The messages held back; None: they go out as they come.
        self.held: list[Message] | None = None
        #: Its last body message came.
        self.formed = False
        #: The failed COMMITs counted when it was formed.
        self.failed_commits = 0

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if self.held is None:
            # A write's held until its body shows whether it comes whole or in parts.
            if (
                kind == "http.response.start"
                and self._hold
                and holds_answer(self._method, streamed=False)
            ):
                self.held = [message]
                return
            self._note(message)
            await self.out(message)
            return
        whole = kind == "http.response.body" and not message.get("more_body", False)
        if not self.formed and not holds_answer(self._method, streamed=not whole):
            await self.release()  # in parts: a stream goes out as it comes
            self._note(message)
            await self.out(message)
            return
        self._note(message)
        self.held.append(message)

    def _note(self, message: Message) -> None:
        """Mark the answer formed at its last body message (a file sent by path is one)."""
        kind = message["type"]
        if kind != "http.response.start" and not message.get("more_body", False):
            self.formed = True
            self.failed_commits = self._writes.failed_commits

    async def release(self) -> None:
        """Send what was held back."""
        held, self.held = self.held, None
        for message in held or ():
            await self.out(message)


def unwrapped(error: Exception) -> Exception:
    """What the app raised, as Starlette re-raises it after the answer started.

    Each of its handler layers (the route's, its ``ExceptionMiddleware``)
    that has a handler for an error raised after the answer started raises a
    RuntimeError ("Caught handled exception, but response already started")
    from it, and ``install`` has one for RuntimeError too: one or two deep.
    """
    for _ in range(4):
        cause = error.__cause__
        if type(error) is not RuntimeError or not isinstance(cause, Exception):
            break
        error = cause
    return error


async def _answer_late(
    scope: Scope, answer: _Answer, error: Exception, decision: AfterAnswer, refusal: Refusal
) -> None:
    where = f"{scope['method']} {scope['path']}"
    if decision is AfterAnswer.REPLACED:
        problem = outage_error(error, scope["method"], handler_ran=True)
        assert problem is not None  # `after_answer` found the outage
        answer.held = None
        details, fields = problem_and_fields(problem)
        await send_problem(scope, answer.out, details, fields)
        return
    if decision is AfterAnswer.REFUSED:
        refused = await refusal(error) or await default_refusal(error)
        assert refused is not None  # `after_answer` found the violation
        answer.held = None
        await send_problem(scope, answer.out, refused)
        return
    if decision is AfterAnswer.TOO_LATE:
        summary = (
            f"{where}: a COMMIT failed after the answer was sent (streamed): the answer may "
            "claim a write that was not made; hold such answers with a Content-Length"
        )
        log_incident(new_incident(), summary, error, level=logging.ERROR)
    else:
        log_answer_stands(where, error)
    await answer.release()


def log_answer_stands(where: str, error: Exception) -> None:
    """Log, under an incident, an outage of a close after `where`'s answer was formed."""
    summary = (
        f"{where}: a database outage after the answer was formed (a session closed after "
        "it); the answer formed stands (what the view committed is committed, what was "
        "left open is rolled back)"
    )
    log_incident(new_incident(), summary, error, level=logging.WARNING)
