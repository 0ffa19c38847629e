"""The Redis idempotency store when Redis fails: against a private redis-server, no mocks.

Restarted without persistence, flushed, frozen: claims sent twice count
once, lost keys are detected by the epoch and new keys wait out a
quarantine, answers owed are recorded where their key is absent, and
claims left unanswered are taken back.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator

import pytest
import redis

from httpconflict import Unavailable
from httpconflict._idempotency import State, StoredResponse
from httpconflict.storage.idempotency.redis import RedisIdempotencyStore
from tests.private_redis import PrivateRedis
from tests.redis_states import out_of_memory, read_only

pytestmark = pytest.mark.anyio

ANSWER = StoredResponse(201, (("location", "/v1/orders/1"),), b'{"id": 1}')
FP = "f" * 64


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def store(private_redis: PrivateRedis) -> AsyncIterator[RedisIdempotencyStore]:
    """A store on the private Redis, opened, its first epoch out of quarantine."""
    keys = RedisIdempotencyStore(private_redis.url)
    await keys.open()
    await keys.end_quarantine()
    try:
        yield keys
    finally:
        await keys.close()


def token() -> str:
    return uuid.uuid4().hex


async def test_a_claim_sent_twice_is_claimed_once(store: RedisIdempotencyStore) -> None:
    """The same claim again (its reply was lost) claims; another token finds the key in flight."""
    mine = token()
    assert await store.claim("p", "k", FP, mine, now=time.time(), lease=30) is None
    assert await store.claim("p", "k", FP, mine, now=time.time(), lease=30) is None
    live = await store.claim("p", "k", FP, token(), now=time.time(), lease=30)
    assert live is not None
    assert live.state is State.IN_FLIGHT
    assert await store.complete("p", "k", mine, ANSWER, now=time.time(), retention=60)


async def test_a_completion_sent_twice_records_once(store: RedisIdempotencyStore) -> None:
    """A completion again finds its own answer: nothing changes (and it reports not recording)."""
    mine = token()
    await store.claim("p", "k", FP, mine, now=time.time(), lease=30)
    assert await store.complete("p", "k", mine, ANSWER, now=time.time(), retention=60)
    other = StoredResponse(500, (), b"")
    assert not await store.complete("p", "k", mine, other, now=time.time(), retention=60)
    live = await store.get("p", "k", now=time.time())
    assert live is not None
    assert live.response == ANSWER


async def test_an_answer_is_recorded_where_the_key_is_absent(
    store: RedisIdempotencyStore,
) -> None:
    """The claim ran out (or was lost) and nobody took the key: the answer is still recorded."""
    mine = token()
    await store.claim("p", "k", FP, mine, now=time.time(), lease=0.05)
    await asyncio.sleep(0.1)
    assert await store.complete(
        "p", "k", mine, ANSWER, now=time.time(), retention=60, fingerprint=FP
    )
    live = await store.claim("p", "k", FP, token(), now=time.time(), lease=30)
    assert live is not None
    assert live.state is State.COMPLETED
    assert live.response == ANSWER


async def test_an_answer_never_overwrites_another_claim(store: RedisIdempotencyStore) -> None:
    """A late completion finds the key claimed by a retry: it records nothing."""
    late = token()
    await store.claim("p", "k", FP, late, now=time.time(), lease=0.05)
    await asyncio.sleep(0.1)
    assert await store.claim("p", "k", FP, token(), now=time.time(), lease=30) is None
    assert not await store.complete(
        "p", "k", late, ANSWER, now=time.time(), retention=60, fingerprint=FP
    )
    live = await store.get("p", "k", now=time.time())
    assert live is not None
    assert live.state is State.IN_FLIGHT


async def test_an_empty_redis_is_quarantined_for_one_lease(private_redis: PrivateRedis) -> None:
    """A store meeting an empty Redis cannot tell it from a lost one: new keys wait one lease."""
    keys = RedisIdempotencyStore(private_redis.url)
    await keys.open()
    try:
        with pytest.raises(Unavailable, match="new epoch") as refused:
            await keys.claim("p", "k", FP, token(), now=time.time(), lease=1)
        assert refused.value.retry_after == 1
        assert refused.value.problem.status == 503
        await asyncio.sleep(1)
        assert await keys.claim("p", "k", FP, token(), now=time.time(), lease=1) is None
    finally:
        await keys.close()


async def test_a_restart_without_persistence_is_detected(
    store: RedisIdempotencyStore, private_redis: PrivateRedis, caplog: pytest.LogCaptureFixture
) -> None:
    """Redis restarted empty: the lost keys are noticed, new keys wait, owed answers land."""
    done, running = token(), token()
    await store.claim("p", "done", FP, done, now=time.time(), lease=30)
    await store.complete("p", "done", done, ANSWER, now=time.time(), retention=60)
    await store.claim("p", "running", FP, running, now=time.time(), lease=30)
    old_epoch = store.epoch
    private_redis.stop()
    private_redis.start()
    with (
        caplog.at_level(logging.WARNING, "httpconflict.idempotency"),
        pytest.raises(Unavailable, match="lost its keys") as refused,
    ):
        await store.claim("p", "new", FP, token(), now=time.time(), lease=30)
    assert 29 <= refused.value.retry_after <= 30
    assert store.epoch != old_epoch
    assert "Redis lost the idempotency keys" in caplog.text
    # The request that was running records its answer: its retries are replayed,
    # quarantine or not.
    assert await store.complete(
        "p", "running", running, ANSWER, now=time.time(), retention=60, fingerprint=FP
    )
    live = await store.claim("p", "running", FP, token(), now=time.time(), lease=30)
    assert live is not None
    assert live.response == ANSWER
    # A key completed before the loss is gone: retried now, it waits out the quarantine.
    with pytest.raises(Unavailable):
        await store.claim("p", "done", FP, token(), now=time.time(), lease=30)


async def test_flushall_is_detected_by_every_store(
    store: RedisIdempotencyStore, private_redis: PrivateRedis
) -> None:
    """FLUSHALL: the first store to claim begins a new epoch; another adopts it, same quarantine."""
    other = RedisIdempotencyStore(private_redis.url)
    await other.open()
    try:
        with private_redis.admin() as admin:
            admin.flushall()
        with pytest.raises(Unavailable) as first:
            await store.claim("p", "a", FP, token(), now=time.time(), lease=30)
        with pytest.raises(Unavailable) as second:
            await other.claim("p", "b", FP, token(), now=time.time(), lease=30)
        assert other.epoch == store.epoch
        assert second.value.retry_after <= first.value.retry_after
    finally:
        await other.close()


async def test_a_renewal_claims_again_what_redis_lost_within_the_quarantine(
    store: RedisIdempotencyStore, private_redis: PrivateRedis
) -> None:
    """FLUSHALL under a running request: its renewal claims the key again, so a retry finds it.

    Only within the quarantine (no other claim of the absent key can have
    been made), and only with the request's fingerprint; a claim that
    lapsed in an old epoch is not claimed back.
    """
    running = token()
    await store.claim("p", "running", FP, running, now=time.time(), lease=1)
    with private_redis.admin() as admin:
        admin.flushall()
    assert not await store.renew("p", "running", running, now=time.time(), lease=1)
    assert await store.renew("p", "running", running, now=time.time(), lease=1, fingerprint=FP)
    for _ in range(2):  # renewed on past the quarantine
        await asyncio.sleep(0.6)
        assert await store.renew("p", "running", running, now=time.time(), lease=1)
    live = await store.claim("p", "running", FP, token(), now=time.time(), lease=1)
    assert live is not None
    assert live.state is State.IN_FLIGHT
    assert await store.complete("p", "running", running, ANSWER, now=time.time(), retention=60)
    # Past the quarantine, an absent claim lapsed: a renewal does not take the key back.
    lapsed = token()
    assert await store.claim("p", "lapsed", FP, lapsed, now=time.time(), lease=0.2) is None
    await asyncio.sleep(0.3)
    assert not await store.renew("p", "lapsed", lapsed, now=time.time(), lease=1, fingerprint=FP)
    assert await store.get("p", "lapsed", now=time.time()) is None


async def test_an_unanswered_claim_is_taken_back(private_redis: PrivateRedis) -> None:
    """Redis frozen: the claim gives up within the URL's timeout; run late, it is released."""
    keys = RedisIdempotencyStore(private_redis.url + "?socket_timeout=0.3")
    await keys.open()
    await keys.end_quarantine()
    name = "httpconflict:idempotency:1:p:k"
    try:
        # Once, so that Redis knows the script: a frozen Redis would otherwise
        # answer the late claim with NOSCRIPT, and nothing would land.
        assert await keys.claim("p", "warm", FP, token(), now=time.time(), lease=30) is None
        private_redis.freeze()
        started = time.monotonic()
        try:
            with pytest.raises(Unavailable):
                await keys.claim("p", "k", FP, token(), now=time.time(), lease=30)
            assert time.monotonic() - started < 1
        finally:
            private_redis.thaw()
        # No await since the claim failed: the store has not begun taking it
        # back, and Redis runs the claim it had received as it resumes.
        with private_redis.admin() as admin:
            deadline = time.monotonic() + 2
            while not admin.exists(name):
                assert time.monotonic() < deadline, "the claim sent to a frozen Redis never ran"
                time.sleep(0.01)  # noqa: ASYNC251  # blocking on purpose: no take-back yet
            deadline = time.monotonic() + 5
            while admin.exists(name):
                assert time.monotonic() < deadline, "the late claim was not taken back"
                await asyncio.sleep(0.05)
        assert await keys.claim("p", "k", FP, token(), now=time.time(), lease=30) is None
    finally:
        await keys.close()


async def test_an_unreachable_redis_is_unavailable(private_redis: PrivateRedis) -> None:
    """Redis stopped: every primitive raises Unavailable (503); none hangs, none raises else."""
    keys = RedisIdempotencyStore(private_redis.url)
    await keys.open()
    await keys.end_quarantine()
    private_redis.stop()
    try:
        mine = token()
        for call in (
            keys.claim("p", "k", FP, mine, now=time.time(), lease=30),
            keys.complete("p", "k", mine, ANSWER, now=time.time(), retention=60, fingerprint=FP),
            keys.release("p", "k", mine),
            keys.get("p", "k", now=time.time()),
        ):
            with pytest.raises(Unavailable):
                await call
    finally:
        await keys.close()


async def test_a_redis_refusing_writes_is_unavailable_and_down(
    store: RedisIdempotencyStore, private_redis: PrivateRedis
) -> None:
    """Out of memory, or a read-only replica: claims and answers Unavailable, and ping says so.

    Redis answers PING and reads there while it refuses every write: a
    store that cannot claim is down for a health check. Nothing was
    applied, so no claim is taken back.
    """
    mine = token()
    assert await store.claim("p", "held", FP, mine, now=time.time(), lease=30) is None
    for state in (out_of_memory, read_only):
        with state(private_redis):
            for call in (
                store.claim("p", "k", FP, token(), now=time.time(), lease=30),
                store.complete(
                    "p", "held", mine, ANSWER, now=time.time(), retention=60, fingerprint=FP
                ),
                store.ping(),
            ):
                with pytest.raises(Unavailable) as refused:
                    await call
                assert isinstance(refused.value.__cause__, redis.exceptions.ResponseError)
            await store.get("p", "held", now=time.time())  # reads are answered
        await store.ping()
    assert len(store._take_backs) == 0


async def test_more_claims_at_once_than_the_pool_holds_wait_for_a_connection(
    store: RedisIdempotencyStore,
) -> None:
    """300 claims at once, each of its own key: every one claimed, none refused.

    redis-py 8's pool holds 100 connections and refuses the next command at once
    ("Too many connections"): before, 200 of the 300 were Unavailable (503s under a
    burst of keyed requests). The pool now waits for a free connection, up to the
    store's timeout.
    """
    now = time.time()
    claims = [store.claim("p", f"burst-{n}", FP, token(), now=now, lease=30) for n in range(300)]
    results = await asyncio.gather(*claims, return_exceptions=True)
    refused = [result for result in results if result is not None]
    assert refused == [], f"{len(refused)} of 300: {refused[:1]}"
