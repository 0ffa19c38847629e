"""When a client retries: a bound on attempts and on time, backoff with full jitter, Retry-After.

Theory of operation: every retry of one operation (an update, a create)
goes through one `Tries`. It counts attempts and, before each retry, picks
the delay: a random one in ``[0, min(cap, base * 2**n))`` ("full jitter":
clients that failed together do not come back together), or longer if the
server asked for more with Retry-After. It refuses to retry once the
attempts are used up, or when the wait would end past the time budget
(waiting to be refused for lack of time helps no one). The core never reads
the clock: each answer arrives stamped with the time it came (`at`,
monotonic seconds; `wall`, seconds since the epoch), and the operation's
start is given.
"""

from __future__ import annotations

import contextlib
import enum
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from ._errors import MalformedHeader
from ._httpdate import parse_http_date

DEFAULT_ATTEMPTS: Final = 8
DEFAULT_BUDGET: Final = 30.0

# RFC 9110 §10.2.3: Retry-After = HTTP-date / delay-seconds; delay-seconds = 1*DIGIT
_DELAY_SECONDS: Final = re.compile(r"[0-9]+", re.ASCII)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long and how often one operation may try.

    `attempts`: the most tries, the first one included. `budget`: seconds
    from the start of the operation after which no retry begins. `base` and
    `cap`: the backoff before retry n is random in ``[0, min(cap, base * 2**(n-1)))``.
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

    def pause(self, at: float, asked: float | None) -> float | GiveUpReason:
        """The delay before the next try, or why there is none.

        `at` is when the answer that calls for a retry came; `asked` the
        delay the server asked for (Retry-After), a minimum: the jittered
        backoff is used when it is longer.
        """
        if self.count >= self.policy.attempts:
            self.detail = f"all {self.policy.attempts} attempts were made"
            return GiveUpReason.ATTEMPTS_EXHAUSTED
        delay = self.policy.backoff(self.count, self.random)
        if asked is not None:
            delay = max(delay, asked)
        spent = at - self.started
        if not math.isfinite(delay) or spent + delay > self.policy.budget:
            asked_text = f"the server asked to wait {asked:g} s, " if asked is not None else ""
            self.detail = (
                f"{asked_text}waiting {delay:.3g} s more would pass the time budget of "
                f"{self.policy.budget:g} s ({spent:.3g} s spent)"
            )
            return GiveUpReason.TIME_BUDGET_SPENT
        self.count += 1
        return delay
