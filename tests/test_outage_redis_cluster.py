"""A Redis Cluster refusing a command, or redis-py's cluster client giving up: refused (503).

Against a private cluster of two nodes (tests/private_cluster.py): a slot
migrating to a node that does not import it (TRYAGAIN for a multi-key
command, ASK then MOVED for ever for a missing key), and a slot nobody
serves (CLUSTERDOWN). A plain client gets Redis's replies; redis-py's
cluster client (sync and asyncio) gives up after 16 redirections (``TTL
exhausted.``), or reloads its slots and finds one uncovered. None ran the
command: refused, a 503 for any method; after the cluster client retried,
lost. A plain client's MOVED or CROSSSLOT is the app's configuration.
"""

from __future__ import annotations

import asyncio
import gc
import threading
import warnings
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from httpconflict import Unavailable
from httpconflict.outage import outage, outage_error
from tests.conftest import need
from tests.private_cluster import PrivateCluster, private_cluster
from tests.private_redis import redis_server_binary
from tests.test_outage_redis import no_retry, raised
from tests.test_outage_redis_replies import LOST, REFUSED, kind_of, wait_for_command

redis = pytest.importorskip("redis")
redis_asyncio = pytest.importorskip("redis.asyncio")
from redis.asyncio.retry import Retry as AsyncRetry  # noqa: E402
from redis.backoff import NoBackoff  # noqa: E402
from redis.cluster import RedisCluster  # noqa: E402
from redis.crc import key_slot  # noqa: E402
from redis.retry import Retry  # noqa: E402

#: Keys of one slot, served by the first node.
KEY, OTHER = "{t}a", "{t}b"
#: A key of another slot of the first node's.
ELSEWHERE = "n"


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[PrivateCluster]:
    binary = redis_server_binary()
    if binary is None:
        need("the redis-server program is not installed; install it to run this test")
    with private_cluster(binary, tmp_path) as running:
        yield running


def admin(cluster: PrivateCluster, *command: object) -> Any:
    """`command` run on the cluster's first node (the one that serves KEY's slot)."""
    with cluster.first.admin() as client:
        return client.execute_command(*command)


def slot() -> int:
    return int(key_slot(KEY.encode()))


def cluster_client(cluster: PrivateCluster, retries: int = 0, **options: Any) -> Any:
    return RedisCluster(
        host="127.0.0.1", port=cluster.first.port, retry=Retry(NoBackoff(), retries), **options
    )


def async_cluster_raised(
    cluster: PrivateCluster, command: Callable[[Any], Awaitable[object]]
) -> BaseException:
    """The error of `command` on a redis.asyncio cluster client of `cluster`'s."""

    async def run() -> object:
        client = redis_asyncio.RedisCluster(
            host="127.0.0.1", port=cluster.first.port, retry=AsyncRetry(NoBackoff(), 0)
        )
        try:
            return await command(client)
        finally:
            await client.aclose()

    try:
        return raised(lambda: asyncio.run(run()))
    finally:
        # The client drops the nodes it made to reload the slots (all of them when the
        # reload fails) without closing them (redis-py 8.1), and each warns when it is
        # collected: collected here, quietly, not as an error of whichever test runs next.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()


def assert_refused(error: BaseException, kind: type[BaseException], words: str) -> None:
    assert isinstance(error, kind), repr(error)
    assert str(error).startswith(words), error
    assert kind_of(error) == REFUSED, error
    assert type(outage_error(error, "POST")) is Unavailable


def migrating(cluster: PrivateCluster) -> None:
    """KEY's slot migrating from the first node to the second, which does not import it."""
    admin(cluster, "CLUSTER SETSLOT", slot(), "MIGRATING", cluster.node_id(cluster.second))


def test_a_slot_in_migration(cluster: PrivateCluster) -> None:
    """TRYAGAIN to a plain client; redis-py's cluster client redirected 16 times: refused."""
    plain = redis.Redis(port=cluster.first.port, **no_retry())
    plain.set(KEY, "1")
    client = cluster_client(cluster)
    migrating(cluster)
    assert_refused(
        raised(lambda: plain.mget(KEY, OTHER)),
        redis.exceptions.TryAgainError,
        "Multiple keys request during rehashing of slot",
    )
    # One key here, one not: TRYAGAIN, again and again.
    assert_refused(
        raised(lambda: client.mget(KEY, OTHER)), redis.exceptions.ClusterError, "TTL exhausted."
    )
    # A key not here: ASK the second node, which answers MOVED back, again and again.
    assert_refused(
        raised(lambda: client.get(OTHER)), redis.exceptions.ClusterError, "TTL exhausted."
    )
    for command in (lambda client: client.mget(KEY, OTHER), lambda client: client.get(OTHER)):
        error = async_cluster_raised(cluster, command)
        assert_refused(error, redis.exceptions.ClusterError, "TTL exhausted.")
    # A plain client sent away (MOVED, ASK) or given keys of two slots: the app's.
    for mistake in (lambda: plain.get(OTHER), lambda: plain.mget("a", "b")):
        error = raised(mistake)
        assert isinstance(error, redis.exceptions.ResponseError), repr(error)
        assert outage(error) is None, error


def test_a_slot_nobody_serves(cluster: PrivateCluster) -> None:
    """CLUSTERDOWN (``The cluster is down``, ``Hash slot not served``): refused, as is
    redis-py's cluster client finding the slot uncovered; after it retried: lost."""
    plain = redis.Redis(port=cluster.first.port, **no_retry())
    # They know the slot's node; the second does without a full cover of the slots.
    knowing = [cluster_client(cluster), cluster_client(cluster, require_full_coverage=False)]
    for node in (cluster.first, cluster.second):  # each forgets who served it
        with node.admin() as client:
            client.execute_command("CLUSTER DELSLOTS", slot())
    cluster.wait_until("fail", cluster.first)  # cluster-require-full-coverage yes
    down = "The cluster is down"
    assert_refused(raised(lambda: plain.get(ELSEWHERE)), redis.exceptions.ClusterDownError, down)
    # Its reload of the slots after the CLUSTERDOWN finds one uncovered.
    assert_refused(
        raised(lambda: knowing[0].get(ELSEWHERE)),
        redis.exceptions.RedisClusterException,
        "All slots are not covered after query all startup_nodes",
    )
    error = async_cluster_raised(cluster, lambda client: client.get(ELSEWHERE))
    assert kind_of(error) == REFUSED, repr(error)

    admin(cluster, "CONFIG SET", "cluster-require-full-coverage", "no")
    cluster.wait_until("ok", cluster.first)
    not_served = "Hash slot not served"
    assert_refused(raised(lambda: plain.get(KEY)), redis.exceptions.ClusterDownError, not_served)
    assert_refused(
        raised(lambda: knowing[1].get(KEY)), redis.exceptions.ClusterDownError, not_served
    )
    uncovered = cluster_client(cluster, require_full_coverage=False)
    assert_refused(
        raised(lambda: uncovered.get(KEY)),
        redis.exceptions.SlotNotCoveredError,
        f'Slot "{slot()}" not covered by the cluster.',
    )
    retrying = cluster_client(cluster, retries=1, require_full_coverage=False)
    # An earlier attempt's failure is not known here: it may have been a lost connection.
    assert kind_of(raised(lambda: retrying.get(KEY))) == LOST


def test_a_cluster_stopped(cluster: PrivateCluster) -> None:
    """Stopped under a blocked BLMOVE: lost; then no node to connect to: refused."""
    client = cluster_client(cluster)
    client.ping()
    errors: list[BaseException] = []
    taker = threading.Thread(
        target=lambda: errors.append(raised(lambda: client.blmove("{t}jobs", "{t}taken", 5)))
    )
    taker.start()
    try:
        wait_for_command(cluster.first, "blmove")
        cluster.first.stop()
        cluster.second.stop()
    finally:
        taker.join()
    assert kind_of(errors[0]) == LOST, repr(errors[0])
    assert_refused(
        raised(lambda: client.get(KEY)),
        redis.exceptions.RedisClusterException,
        "Redis Cluster cannot be connected.",
    )
