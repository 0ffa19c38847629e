"""When a client retries: a bound on attempts and on time, backoff with full jitter, Retry-After.

Theory of operation: every retry of one operation (an update, a create)
goes through one `Tries`. Time bounds it: no retry begins later than
`budget` seconds (30 by default) after the operation began, so a server
that restarts, or a database that fails over, within that time is waited
for. Before each retry `Tries` picks the delay: a random one in
``[0, min(cap, base * 2**n))`` ("full jitter": clients that failed together
do not come back together), never shorter than the server's Retry-After,
and shortened to what is left of the budget, so the last try is made as
the budget ends. A Retry-After that asks for more than is left ends the
operation at once (coming back sooner than asked would be refused, and
waiting to be refused for lack of time helps no one). The attempt count is
a second, looser bound. The core never reads the clock: each answer
arrives stamped with the time it came (`at`, monotonic seconds; `wall`,
seconds since the epoch), and the operation's start is given.
"""

from __future__ import annotations

import contextlib
import enum
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from ._errors import MalformedHeader
from ._httpdate import parse_http_date

# The budget is what ends a default operation (after about 20 tries when every
# answer says "later"); the count only stops a runaway policy.
DEFAULT_ATTEMPTS: Final = 50
DEFAULT_BUDGET: Final = 30.0

# RFC 9110 §10.2.3: Retry-After = HTTP-date / delay-seconds; delay-seconds = 1*DIGIT
_DELAY_SECONDS: Final = re.compile(r"[0-9]+", re.ASCII)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long and how often one operation may try.

    `budget`: seconds from the start of the operation after which no retry
    begins; what bounds an operation. `attempts`: the most tries, the first
    one included; a second bound. `base` and `cap`: the backoff before retry
    n is random in ``[0, min(cap, base * 2**(n-1)))``.
    """

    attempts: int = DEFAULT_ATTEMPTS
    budget: float = DEFAULT_BUDGET
    base: float = 0.05
    cap: float = 5.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"attempts must be at least 1, not {self.attempts}")
        if not self.budget >= 0:
            raise ValueError(f"budget must be a number of seconds >= 0, not {self.budget}")
        if not 0 <= self.base <= self.cap:
            raise ValueError(f"need 0 <= base <= cap, not base={self.base}, cap={self.cap}")

    def backoff(self, retry: int, random: Callable[[], float]) -> float:
        """The delay before retry number `retry` (1 for the first), full jitter.

        Full jitter, as in "Exponential Backoff And Jitter" (AWS Architecture
        Blog, 2015): of the schemes compared there, it spreads competing
        clients best for the least total work.
        """
        ceiling = min(self.cap, self.base * 2.0 ** min(retry - 1, 64))
        return ceiling * random()


def retry_after(value: str | None, *, date: str | None, wall: float) -> float | None:
    """Seconds to wait from a Retry-After value, or None if absent or unreadable.

    An HTTP-date is read against the answer's own Date header when it has a
    readable one (the server's clock wrote both, so skew between the clocks
    cancels out), else against `wall`, the client's clock when the answer
    came. A date in the past means "now": 0.
    """
    if value is None:
        return None
    value = value.strip(" \t")
    if _DELAY_SECONDS.fullmatch(value):
        return float(value)
    try:
        when = parse_http_date(value).timestamp()
    except MalformedHeader:
        return None
    now = wall
    if date is not None:
        with contextlib.suppress(MalformedHeader):
            now = parse_http_date(date).timestamp()
    return max(0.0, when - now)


class GiveUpReason(enum.Enum):
    """Why an operation stopped without succeeding."""

    #: The answer is one that retrying cannot change (a 404, a 422, ...).
    REFUSED = "refused"
    #: A success the client cannot act on (a document without an ETag, not JSON).
    UNUSABLE_ANSWER = "unusable-answer"
    #: Every attempt the policy allows was made.
    ATTEMPTS_EXHAUSTED = "attempts-exhausted"
    #: The next wait would end past the time budget.
    TIME_BUDGET_SPENT = "time-budget-spent"
    #: A write may or may not have been applied, and no answer says which:
    #: its answer was lost and no retry (with its Idempotency-Key) got one
    #: that tells.
    OUTCOME_UNKNOWN = "outcome-unknown"
    #: A change feed no longer holds the changes after the position asked
    #: for (410 changes-expired): the watcher must start over.
    CHANGES_EXPIRED = "changes-expired"


class Tries:
    """The attempts of one operation: how many so far, and the delay before the next."""

    def __init__(self, policy: RetryPolicy, *, started: float, random: Callable[[], float]) -> None:
        self.policy = policy
        self.started = started
        self.random = random
        #: Tries made so far, the current one included.
        self.count = 1
        #: Why the last `pause` refused, in words.
        self.detail = ""

    def pause(
        self, at: float, asked: float | None, *, reconnection: float = 0.0
    ) -> float | GiveUpReason:
        """The delay before the next try, or why there is none.

        `at` is when the answer that calls for a retry came; `asked` the
        delay the server asked for (Retry-After), a minimum: the jittered
        backoff is used when it is longer. `reconnection`: an event
        stream's reconnection time, waited before the backoff (which is
        added to it). The delay never ends past the budget: a backoff (and
        a reconnection time) is cut short to end with it, and a Retry-After
        that would end past it is not waited for at all.
        """
        if self.count >= self.policy.attempts:
            self.detail = f"all {self.policy.attempts} attempts were made"
            return GiveUpReason.ATTEMPTS_EXHAUSTED
        spent = at - self.started
        left = self.policy.budget - spent
        budget = f"the time budget of {self.policy.budget:g} s ({spent:.3g} s spent)"
        if left <= 0:
            self.detail = f"{budget} is spent"
            return GiveUpReason.TIME_BUDGET_SPENT
        if asked is not None and not asked <= left:
            # RFC 9110 §10.2.3: Retry-After is how long "the user agent ought
            # to wait before making a follow-up request": sooner is refused.
            self.detail = f"the server asked to wait {asked:g} s, past {budget}"
            return GiveUpReason.TIME_BUDGET_SPENT
        delay = reconnection + self.policy.backoff(self.count, self.random)
        if asked is not None:
            delay = max(delay, asked)
        self.count += 1
        return min(delay, left)
