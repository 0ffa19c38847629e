"""An app's Redis refusing its commands, through FastAPI, Flask and Django on real servers: 503.

The apps of test_redis_outage.py (redis_apps.py, redis_django.py: plain
views and REST framework's) use a private Redis that the test puts in each
state in which Redis refuses commands (tests/redis_states.py): out of
memory, a read-only replica, a replica cut off from its primary, busy
with a script, failing to save, without the replicas it needs, turned into
a replica under a blocked BLMOVE; and a private Redis Cluster with a slot
in migration, then a slot nobody serves. Each refused request is a 503
``unavailable`` with Retry-After, for a POST too: Redis ran none of it. A
pipeline whose LPOP took a job before its SET was refused is a 504
``outcome-unknown``; the same in MULTI/EXEC ran nothing: a 503. Reads
Redis still serves stay 200s, and the app's own bug (WRONGTYPE) its 500.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from tests import redis_states as states
from tests.adapters.test_database_outage import assert_outage, started
from tests.adapters.test_redis_outage import serving, taken_while
from tests.conftest import need
from tests.private_cluster import PrivateCluster, private_cluster
from tests.private_redis import PrivateRedis, redis_server_binary
from tests.servers import start_app

pytest.importorskip("redis")
pytest.importorskip("django")
pytestmark = pytest.mark.slow


def test_redis_refusing_commands(private_redis: PrivateRedis, tmp_path: Path) -> None:
    """OOM, READONLY, MASTERDOWN, BUSY, MISCONF, NOREPLICAS, UNBLOCKED: 503; half a pipeline 504."""
    server = states.protected(private_redis)
    with ExitStack() as stack:
        http, apps, reads = serving(stack, server, tmp_path)
        for app in apps:
            assert http.post(f"{app}/count").status_code == 200

        with server.admin() as admin:
            admin.rpush("jobs", *range(len(apps) + 1))
            with states.out_of_memory(server):
                for app in apps:
                    assert_outage(http.post(f"{app}/count"))
                    assert_outage(http.post(f"{app}/transaction"))  # queued, refused: none ran
                    assert admin.llen("jobs") == len(apps) + 1
                for app in apps:
                    assert_outage(http.post(f"{app}/pipeline"), 504)  # its LPOP ran
                assert admin.llen("jobs") == 1
                for url in reads:
                    assert http.get(url).status_code == 200, url

        with states.read_only(server):
            for app in apps:
                for write in ("count", "pipeline", "transaction"):
                    assert_outage(http.post(f"{app}/{write}"))  # every command refused
            for url in reads:
                assert http.get(url).status_code == 200, url

        for state in (states.master_down, states.busy):
            with state(server):
                for url in reads:
                    assert_outage(http.get(url))
                for app in apps:
                    assert_outage(http.post(f"{app}/count"))

        for state in (states.persistence_failed, states.no_replicas):
            with state(server):
                for app in apps:
                    assert_outage(http.post(f"{app}/count"))
                for url in reads:
                    assert http.get(url).status_code == 200, url

        answers = taken_while(server, apps, lambda: failover(server))
        for app in apps:
            assert_outage(answers[app])  # UNBLOCKED: the BLMOVE never ran


def failover(server: PrivateRedis) -> None:
    """Redis made a replica (which ends each blocked command with UNBLOCKED), and back."""
    with states.read_only(server):
        pass


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[PrivateCluster]:
    binary = redis_server_binary()
    if binary is None:
        need("the redis-server program is not installed; install it to run this test")
    (tmp_path / "cluster").mkdir()
    with private_cluster(binary, tmp_path / "cluster") as running:
        yield running


def test_redis_cluster_refusing_commands(cluster: PrivateCluster, tmp_path: Path) -> None:
    """A slot in migration (TRYAGAIN until redis-py gives up), then served by none: 503."""
    env = {"REDIS_APP_URL": cluster.first.url, "REDIS_APP_CLUSTER": "1"}
    apps = "tests.adapters.redis_apps"
    with ExitStack() as stack:
        http = stack.enter_context(httpx.Client(timeout=30))
        urls = started(
            stack,
            start_app(f"{apps}:create_fastapi", tmp_path, env=env, probe="/healthz"),
            start_app(f"{apps}:create_flask", tmp_path, env=env, probe="/healthz", wsgi=True),
            start_app(
                "tests.adapters.redis_django:create_app",
                tmp_path,
                env=env,
                wsgi=True,
                probe="/healthz",
            ),
        )
        with cluster.first.admin() as admin:
            admin.set("{t}a", "1")
            for url in urls:
                assert http.get(f"{url}/values").json() == {"values": ["1", None]}
                assert http.post(f"{url}/count").status_code == 200
            slot = admin.execute_command("CLUSTER KEYSLOT", "{t}")
            second = cluster.node_id(cluster.second)
            admin.execute_command("CLUSTER SETSLOT", slot, "MIGRATING", second)
            for url in urls:
                assert_outage(http.get(f"{url}/values"))  # TRYAGAIN: "TTL exhausted."
            admin.execute_command("CLUSTER SETSLOT", slot, "STABLE")
            for url in urls:
                assert http.get(f"{url}/values").status_code == 200

        for node in (cluster.first, cluster.second):
            with node.admin() as admin:
                admin.execute_command("CLUSTER DELSLOTS", slot)
        cluster.wait_until("fail", cluster.first)
        for url in urls:
            assert_outage(http.get(f"{url}/values"))  # CLUSTERDOWN, then no node for the slot
            assert_outage(http.post(f"{url}/count"))
