"""set_testing: every client in the process skips its waits, with no clock passed to it."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from httpconflict.httpx import (
    AsyncConflictClient,
    ConflictClient,
    GiveUpReason,
    RetriesExhausted,
    RetryPolicy,
    VirtualClock,
    is_testing,
    set_testing,
)
from tests.client.test_httpx_client import BASE, Script, problem


def keep(document: object) -> None:
    """A change that changes nothing (the reads never succeed anyway)."""


def busy() -> Script:
    """A server that is always unavailable and asks for a 1 s wait each time."""
    return Script(lambda request: problem(503, "unavailable", {"retry-after": "1"}))


def test_testing_mode_skips_the_waits_and_still_spends_the_budget() -> None:
    """A client on the system clock gives up after its 30 s budget, without waiting 30 s."""
    script = busy()
    began = time.monotonic()
    with (
        set_testing(True),
        ConflictClient(
            httpx.Client(base_url=BASE, transport=httpx.MockTransport(script))
        ) as client,
        pytest.raises(RetriesExhausted) as raised,
    ):
        client.update("/v1/notes/n1", keep)
    assert time.monotonic() - began < 5
    assert raised.value.reason is GiveUpReason.TIME_BUDGET_SPENT
    # 1 s (Retry-After) to 5 s (the backoff's cap) between tries, for 30 s: the
    # jitter decides where between (15 was too many for about one run in 15).
    assert 1 + 30 // 5 <= len(script.requests) <= 1 + 30 // 1


def test_testing_mode_caps_the_attempts() -> None:
    """set_testing(True, attempts=2): an operation makes two tries at most."""
    script = busy()
    http = httpx.Client(base_url=BASE, transport=httpx.MockTransport(script))
    with set_testing(True, attempts=2), pytest.raises(RetriesExhausted) as raised:
        ConflictClient(http).update("/v1/notes/n1", keep)
    assert raised.value.reason is GiveUpReason.ATTEMPTS_EXHAUSTED
    assert len(script.requests) == 2


def test_a_lower_attempts_of_the_policy_stays() -> None:
    """The cap only lowers: a policy allowing fewer tries keeps its own count."""
    script = busy()
    http = httpx.Client(base_url=BASE, transport=httpx.MockTransport(script))
    client = ConflictClient(http, policy=RetryPolicy(attempts=3))
    with set_testing(True, attempts=10), pytest.raises(RetriesExhausted):
        client.update("/v1/notes/n1", keep)
    assert len(script.requests) == 3


def test_a_client_with_its_own_clock_keeps_it() -> None:
    """Testing mode replaces only the system clock: a clock the test passed sees every wait."""
    clock = VirtualClock()
    http = httpx.Client(base_url=BASE, transport=httpx.MockTransport(busy()))
    with set_testing(True, attempts=3), pytest.raises(RetriesExhausted):
        ConflictClient(http, clock=clock).update("/v1/notes/n1", keep)
    assert len(clock.slept) == 2
    assert all(wait >= 1.0 for wait in clock.slept)


def test_the_async_client_skips_its_waits_too() -> None:
    """AsyncConflictClient in testing mode: the same budget, spent without waiting."""
    script = busy()

    async def main() -> None:
        http = httpx.AsyncClient(base_url=BASE, transport=httpx.MockTransport(script))
        async with AsyncConflictClient(http) as client:
            await client.update("/v1/notes/n1", keep)

    began = time.monotonic()
    with set_testing(True), pytest.raises(RetriesExhausted):
        asyncio.run(main())
    assert time.monotonic() - began < 5


def test_set_testing_is_a_context_manager_that_restores() -> None:
    """`with set_testing(...)` puts back the mode it found; a plain call leaves it on."""
    assert not is_testing()
    with set_testing(True):
        assert is_testing()
        with set_testing(False):
            assert not is_testing()
        assert is_testing()
    assert not is_testing()
    set_testing(True)
    try:
        assert is_testing()
    finally:
        set_testing(False)
    assert not is_testing()


def test_a_cap_below_one_attempt_is_refused() -> None:
    """attempts=0 would mean no try at all: a ValueError, and the mode is unchanged."""
    with pytest.raises(ValueError, match="at least 1"):
        set_testing(True, attempts=0)
    assert not is_testing()
