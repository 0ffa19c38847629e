"""What `ConflictClient` raises when an operation gives up.

    ConflictError          .reason, .problem, .response, .attempts, .outcome
     +-- RequestRefused    an answer retrying cannot change (404, 422, 428, 409 unique-violation)
     |    +-- ChangesExpired   a change feed no longer has the changes after the position (410)
     +-- RetriesExhausted  the answers said "try again", but the attempts or the time budget ran out
     +-- UnusableAnswer    a success the client cannot act on (a document without an ETag)
     +-- OutcomeUnknown    a write may or may not have been applied: its answer was lost

`str()` of each says, in one line, what was tried, how often, and the last
answer (its problem type, title, detail, and any conflicting pointers).
"""

from __future__ import annotations

import httpx

from .._client_commands import GaveUp
from .._client_retry import GiveUpReason
from .._problem import ProblemDetails


class ConflictError(Exception):
    """An operation gave up; the last answer and its problem details say why."""

    def __init__(self, outcome: GaveUp, response: httpx.Response | None) -> None:
        super().__init__(outcome.describe())
        #: Everything the operation knew when it stopped.
        self.outcome = outcome
        self.reason: GiveUpReason = outcome.reason
        #: The RFC 9457 problem of the last answer, if it was application/problem+json.
        self.problem: ProblemDetails | None = outcome.problem
        #: The last answer received (None if no answer ever came).
        self.response = response
        self.attempts = outcome.attempts

    @property
    def status(self) -> int | None:
        return self.response.status_code if self.response is not None else None


class RequestRefused(ConflictError):
    """The server answered with an error that retrying would not change."""


class ChangesExpired(RequestRefused):
    """A change feed purged the changes after the position a watch asked for (410 Gone).

    The watcher cannot resume: it must start over, e.g. read the collection
    again, then watch from ``since="now"``, or from `oldest`, the smallest
    position the feed still accepts (None if the answer did not say).

    The only ``ChangesExpired``: the error a feed raises to answer this 410
    is ``httpconflict.changes.SinceExpired`` (it was named ChangesExpired
    too, and an ``except`` that imported it around a watch caught nothing).
    """

    def __init__(self, outcome: GaveUp, response: httpx.Response | None) -> None:
        super().__init__(outcome, response)
        oldest = self.problem.extensions.get("oldest") if self.problem is not None else None
        valid = isinstance(oldest, int) and not isinstance(oldest, bool) and oldest >= 0
        self.oldest: int | None = oldest if valid else None


class RetriesExhausted(ConflictError):
    """Every attempt allowed was made, or the time budget is spent (see `reason`)."""


class UnusableAnswer(ConflictError):
    """The server answered with success, but not with what the client needs to go on."""


class OutcomeUnknown(ConflictError):
    """A write may or may not have been applied, and nothing the client got says which.

    Its answer was lost (or was a 5xx), and no resend with its
    Idempotency-Key was answered with what became of it: the retries ran
    out, or the server answered a fresh refusal, which a server that does
    not honour the key would also give for a write it had applied. The
    change was not made again: read the resource to find out.
    """


_CLASSES = {
    GiveUpReason.REFUSED: RequestRefused,
    GiveUpReason.ATTEMPTS_EXHAUSTED: RetriesExhausted,
    GiveUpReason.TIME_BUDGET_SPENT: RetriesExhausted,
    GiveUpReason.UNUSABLE_ANSWER: UnusableAnswer,
    GiveUpReason.OUTCOME_UNKNOWN: OutcomeUnknown,
    GiveUpReason.CHANGES_EXPIRED: ChangesExpired,
}


def conflict_error(outcome: GaveUp, response: httpx.Response | None) -> ConflictError:
    """The exception for an operation that ended with `outcome`."""
    return _CLASSES[outcome.reason](outcome, response)
