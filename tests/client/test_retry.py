"""Retry timing: backoff with full jitter, Retry-After in both forms, attempts and budget."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from httpconflict._client_retry import GiveUpReason, RetryPolicy, Tries, retry_after

DATE = "Sun, 06 Nov 1994 08:49:37 GMT"
DATE_EPOCH = 784111777.0


@pytest.mark.parametrize("retry", range(1, 12))
def test_backoff_stays_within_the_full_jitter_bounds(retry: int) -> None:
    """Retry n waits in [0, min(cap, base * 2**(n-1))), and uses the whole range."""
    policy = RetryPolicy(base=0.1, cap=2.0)
    ceiling = min(2.0, 0.1 * 2 ** (retry - 1))
    rng = random.Random(retry)
    delays = [policy.backoff(retry, rng.random) for _ in range(500)]
    assert all(0 <= d < ceiling for d in delays)
    assert min(delays) < ceiling * 0.05
    assert max(delays) > ceiling * 0.95


def test_backoff_grows_then_stops_at_the_cap() -> None:
    """The ceiling doubles per retry up to the cap, and a huge retry count does not overflow."""
    policy = RetryPolicy(base=0.5, cap=3.0)
    ceilings = [policy.backoff(n, lambda: 1.0) for n in (1, 2, 3, 4, 10, 10_000)]
    assert ceilings == [0.5, 1.0, 2.0, 3.0, 3.0, 3.0]


@pytest.mark.parametrize(
    ("value", "date", "wall", "seconds"),
    [
        pytest.param("120", None, 0.0, 120.0, id="delay-seconds"),
        pytest.param(" 0 ", None, 0.0, 0.0, id="zero-with-ows"),
        pytest.param(DATE, "Sun, 06 Nov 1994 08:49:07 GMT", 0.0, 30.0, id="date-against-date"),
        pytest.param(DATE, None, DATE_EPOCH - 5, 5.0, id="date-against-wall"),
        pytest.param(DATE, "not a date", DATE_EPOCH - 7, 7.0, id="bad-date-uses-wall"),
        pytest.param("Sunday, 06-Nov-94 08:49:37 GMT", None, DATE_EPOCH - 1, 1.0, id="rfc850"),
        pytest.param(DATE, None, DATE_EPOCH + 60, 0.0, id="date-in-the-past-is-now"),
        pytest.param("-1", None, 0.0, None, id="negative-is-not-delay-seconds"),
        pytest.param("1.5", None, 0.0, None, id="fraction-is-not-delay-seconds"),
        pytest.param("soon", None, 0.0, None, id="garbage"),
        pytest.param(None, None, 0.0, None, id="absent"),
    ],
)
def test_retry_after(
    value: str | None, date: str | None, wall: float, seconds: float | None
) -> None:
    """RFC 9110 §10.2.3: Retry-After = HTTP-date / delay-seconds; anything else is ignored."""
    assert retry_after(value, date=date, wall=wall) == seconds


def tries(policy: RetryPolicy | None = None) -> Tries:
    return Tries(policy or RetryPolicy(), started=10.0, random=lambda: 0.5)


def test_retry_after_is_a_minimum() -> None:
    """The server's wait is used when longer than the backoff, the backoff when longer."""
    assert tries(RetryPolicy(base=0.1)).pause(10.0, 3.0) == 3.0
    assert tries(RetryPolicy(base=4.0, cap=4.0)).pause(10.0, 1.0) == 2.0


def test_the_attempts_bound_counts_the_first_try() -> None:
    """attempts=3 allows two retries; the third refusal is ATTEMPTS_EXHAUSTED."""
    counter = tries(RetryPolicy(attempts=3))
    assert isinstance(counter.pause(10.0, None), float)
    assert isinstance(counter.pause(10.0, None), float)
    assert counter.pause(10.0, None) is GiveUpReason.ATTEMPTS_EXHAUSTED
    assert counter.count == 3
    assert counter.detail == "all 3 attempts were made"


def test_a_retry_after_past_the_budget_is_not_waited_for() -> None:
    """Started at 10 with a budget of 5: at 14, a 2 s Retry-After is refused, a 0.5 s one waited."""
    refused = tries(RetryPolicy(budget=5.0))
    assert refused.pause(14.0, 2.0) is GiveUpReason.TIME_BUDGET_SPENT
    assert refused.detail == (
        "the server asked to wait 2 s, past the time budget of 5 s (4 s spent)"
    )
    assert tries(RetryPolicy(budget=5.0)).pause(14.0, 0.5) == 0.5


def test_a_backoff_is_cut_short_to_end_with_the_budget() -> None:
    """A backoff longer than what is left waits only what is left: the last try ends the budget."""
    assert tries(RetryPolicy(budget=5.0, base=4.0, cap=4.0)).pause(14.5, None) == 0.5


def test_no_retry_begins_once_the_budget_is_spent() -> None:
    """An answer that comes after the budget ended is the last one."""
    spent = tries(RetryPolicy(budget=5.0))
    assert spent.pause(15.0, None) is GiveUpReason.TIME_BUDGET_SPENT
    assert spent.detail == "the time budget of 5 s (5 s spent) is spent"
    assert spent.count == 1


def test_the_budget_not_the_count_ends_a_default_operation() -> None:
    """With the defaults, answers that all say "later" are retried for 30 s, about 20 times."""
    rng = random.Random(16)
    for _ in range(20):
        counter = Tries(RetryPolicy(), started=0.0, random=rng.random)
        now = 0.0
        while isinstance(delay := counter.pause(now, None), float):
            now += delay
        assert delay is GiveUpReason.TIME_BUDGET_SPENT
        assert now == pytest.approx(30.0)
        assert 12 <= counter.count < RetryPolicy().attempts


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: RetryPolicy(attempts=0), id="no-attempts"),
        pytest.param(lambda: RetryPolicy(budget=-1.0), id="negative-budget"),
        pytest.param(lambda: RetryPolicy(budget=float("nan")), id="nan-budget"),
        pytest.param(lambda: RetryPolicy(base=2.0, cap=1.0), id="base-above-cap"),
        pytest.param(lambda: RetryPolicy(base=-0.1), id="negative-base"),
    ],
)
def test_a_policy_that_makes_no_sense_is_refused(make: Callable[[], RetryPolicy]) -> None:
    """RetryPolicy checks its numbers when made."""
    with pytest.raises(ValueError, match=r"must be|need"):
        make()
