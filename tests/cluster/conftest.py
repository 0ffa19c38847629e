"""What the cluster tests need: root (for namespaces), ip, haproxy, PostgreSQL and Redis.

Each is checked before anything is made; a missing one skips the test with
the reason (and fails it under CI=true, where `make test` installs them).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cluster.cluster import Cluster, start_cluster
from tests.cluster.haproxy import haproxy_binary
from tests.conftest import need
from tests.private_postgres import postgres_binaries
from tests.private_redis import redis_server_binary


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    """Three instances in network namespaces, behind haproxy, on private PostgreSQL and Redis."""
    pytest.importorskip("psycopg")
    pytest.importorskip("redis")
    if os.geteuid() != 0:
        need("the cluster test makes network namespaces, which needs root")
    if shutil.which("ip") is None:
        need("the ip program (iproute2) is not installed; install it to run the cluster test")
    haproxy = haproxy_binary()
    if haproxy is None:
        need("haproxy is not installed (apt-get install haproxy); install it to run this test")
    binaries = postgres_binaries()
    if isinstance(binaries, str):
        need(binaries + "; install them to run this test")
    redis = redis_server_binary()
    if redis is None:
        need("the redis-server program is not installed; install it to run this test")
    with start_cluster(
        tmp_path,
        postgres_binaries=binaries,
        redis_binary=redis,
        haproxy_binary=haproxy,
        keys="redis",
    ) as running:
        yield running
