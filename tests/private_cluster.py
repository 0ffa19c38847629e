"""A private Redis Cluster of two redis-servers (tests/private_redis.py), for tests that break it.

Node `first` serves slots 0 to `SPLIT` - 1, node `second` the rest; each
was given its own config epoch before they met, so that they agree on who
serves what within a second of gossip. The tests move a slot about
(``CLUSTER SETSLOT ... MIGRATING``, ``DELSLOTS``) to make the cluster
answer TRYAGAIN, ASK and CLUSTERDOWN.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from tests.private_redis import PrivateRedis
from tests.servers import free_port

#: The first slot of the second node.
SPLIT: Final = 16000
#: Seconds the nodes are given to agree.
WAIT: Final = 20.0


@dataclass
class PrivateCluster:
    first: PrivateRedis
    second: PrivateRedis

    def node_id(self, node: PrivateRedis) -> str:
        with node.admin() as admin:
            return str(admin.execute_command("CLUSTER MYID").decode())

    def info(self, node: PrivateRedis) -> dict[str, Any]:
        with node.admin() as admin:
            info: dict[str, Any] = admin.cluster("INFO")
            return info

    def wait_until(self, state: str, *nodes: PrivateRedis) -> None:
        """Until `nodes` (both) see the cluster in `state` (``ok``, ``fail``), and each other."""
        deadline = time.monotonic() + WAIT
        for node in nodes or (self.first, self.second):
            while (info := self.info(node))["cluster_state"] != state or (
                int(info["cluster_known_nodes"]) != 2
            ):
                assert time.monotonic() < deadline, f"the cluster never became {state}: {info}"
                time.sleep(0.05)


@contextmanager
def private_cluster(binary: str, directory: Path) -> Iterator[PrivateCluster]:
    """Two nodes met and serving every slot; both stopped at the end."""
    options = ("--cluster-enabled", "yes", "--cluster-node-timeout", "2000")
    with ExitStack() as stack:
        nodes = []
        buses = []  # each node's cluster bus, on a free port (its port + 10000 may be taken)
        for name in ("first", "second"):
            (directory / name).mkdir()
            buses.append(free_port())
            bus = ("--cluster-port", str(buses[-1]))
            node = PrivateRedis(binary, directory / name, options=(*options, *bus))
            node.start()
            stack.callback(node.stop)
            nodes.append(node)
        cluster = PrivateCluster(*nodes)
        for epoch, (node, slots) in enumerate(
            ((cluster.first, (0, SPLIT - 1)), (cluster.second, (SPLIT, 16383))), start=1
        ):
            with node.admin() as admin:
                admin.execute_command("CLUSTER SET-CONFIG-EPOCH", epoch)
                admin.execute_command("CLUSTER ADDSLOTSRANGE", *slots)
        with cluster.first.admin() as admin:
            admin.execute_command("CLUSTER MEET", "127.0.0.1", cluster.second.port, buses[1])
        cluster.wait_until("ok")
        yield cluster
