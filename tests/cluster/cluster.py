"""Three `httpconflict serve` instances in namespaces of their own, behind haproxy.

`start_cluster` makes the network (tests/cluster/network.py), a private
PostgreSQL and a private Redis listening on the bridge (so that the test
may restart PostgreSQL without touching the suite's shared servers), one
instance per namespace (one worker each), and haproxy on 127.0.0.1 in
front of them; and removes all of it when the block ends, however it ends.
A `Cluster` kills, starts, cuts off and mends instances, restarts
PostgreSQL, and restarts or flushes Redis, noting when each happened
(`events`) for the test's verdict.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx

from tests.cluster.haproxy import Haproxy, start_haproxy
from tests.cluster.network import Network, remove_leftovers
from tests.host_network import changing_network
from tests.private_postgres import PrivatePostgres
from tests.private_redis import PrivateRedis, end_quarantine
from tests.servers import free_port

PORT = 8000
#: Seconds a claimed Idempotency-Key is held before a retry may take it over:
#: longer than a link is cut (the cut instance records its answers when it is
#: back), short enough that a claim left by the killed instance ends in the test.
LEASE = 8.0

Keys = Literal["redis", "db"]


@dataclass
class Instance:
    """One `httpconflict serve`, in its namespace; `name` is its haproxy server name."""

    host: int
    name: str
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    def access_log(self) -> list[dict[str, Any]]:
        text = self.log_path.read_text() if self.log_path.exists() else ""
        lines = text[: text.rfind("\n") + 1].splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]


@dataclass
class Cluster:
    network: Network
    postgres: PrivatePostgres
    redis: PrivateRedis
    keys: Keys
    directory: Path
    instances: list[Instance] = field(default_factory=list)
    proxy: Haproxy | None = None
    #: (monotonic time, what happened, instance name or "postgres").
    events: list[tuple[float, str, str]] = field(default_factory=list)

    @property
    def url(self) -> str:
        assert self.proxy is not None
        return self.proxy.url

    def note(self, what: str, who: str) -> float:
        now = time.monotonic()
        self.events.append((now, what, who))
        return now

    def serve_command(self, instance: Instance) -> list[str]:
        keys = "db" if self.keys == "db" else self.redis.url_at(self.network.gateway)
        return [
            *self.network.exec(instance.host),
            sys.executable,
            "-m",
            "httpconflict.cli",
            "serve",
            "--db",
            self.postgres.url_at(self.network.gateway),
            "--idempotency",
            keys,
            "--idempotency-lease",
            str(LEASE),
            "--host",
            self.network.address(instance.host),
            "--port",
            str(PORT),
            # haproxy is the only way in from outside the bridge; Host is what clients name.
            "--allow-unauthenticated",
            "--allowed-host",
            "127.0.0.1",
            "--log-format",
            "json",
        ]

    def start(self, *instances: Instance) -> None:
        """Start `instances`; return once each answers /healthz on its own address."""
        for instance in instances:
            self._launch(instance)
        for instance in instances:
            self._wait_until_up(instance)

    def _launch(self, instance: Instance) -> None:
        with instance.log_path.open("ab") as log:
            instance.process = subprocess.Popen(
                self.serve_command(instance),
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        self.network.record(pid=instance.process.pid)

    def _wait_until_up(self, instance: Instance) -> None:
        """Wait for its /healthz; start it again if it refused to start (as a supervisor would).

        `httpconflict serve` refuses to start while the database does not
        answer (a PostgreSQL restart under way): exit status 1.
        """
        url = f"http://{self.network.address(instance.host)}:{PORT}/healthz"
        deadline = time.monotonic() + 60
        while True:
            assert instance.process is not None
            if instance.process.poll() is not None:
                if instance.process.returncode != 1 or time.monotonic() > deadline:
                    log = instance.log_path.read_text()
                    raise RuntimeError(f"{instance.name} exited:\n{log}")
                time.sleep(0.5)
                self._launch(instance)
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(url, timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{instance.name} did not come up")
            time.sleep(0.05)
        self.note("started", instance.name)

    def kill(self, instance: Instance) -> float:
        """SIGKILL: the process ends at once, mid-request, its connections reset."""
        assert instance.process is not None
        killed = self.note("killed", instance.name)
        instance.process.send_signal(signal.SIGKILL)
        instance.process.wait()
        return killed

    def cut(self, instance: Instance) -> float:
        cut = self.note("cut", instance.name)
        self.network.cut(instance.host)
        return cut

    def mend(self, instance: Instance) -> float:
        self.network.mend(instance.host)
        return self.note("mended", instance.name)

    def restart_postgres(self) -> tuple[float, float]:
        """Fast shutdown (sessions ended, transactions rolled back), then start; both moments."""
        stopping = self.note("stopping", "postgres")
        self.postgres.stop()
        ready = self.postgres.start()
        self.events.append((ready, "ready", "postgres"))
        return stopping, ready

    def restart_redis(self) -> None:
        """Stop Redis and start it again: without persistence, it comes back empty."""
        self.note("stopping", "redis")
        self.redis.stop()
        self.redis.start()
        assert self.redis.process is not None
        self.network.record(pid=self.redis.process.pid)
        self.note("ready", "redis")

    def flush_redis(self) -> None:
        with self.redis.admin() as client:
            client.flushall()
        self.note("flushed", "redis")

    def stop(self) -> None:
        if self.proxy is not None:
            self.proxy.stop()
        for instance in self.instances:
            if instance.process is not None and instance.process.poll() is None:
                instance.process.send_signal(signal.SIGINT)
        for instance in self.instances:
            if instance.process is not None:
                try:
                    instance.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    instance.process.kill()
                    instance.process.wait()


@contextlib.contextmanager
def start_cluster(
    directory: Path,
    *,
    postgres_binaries: Path,
    redis_binary: str,
    haproxy_binary: str,
    keys: Keys = "redis",
    instances: int = 3,
) -> Iterator[Cluster]:
    """The whole cluster, up; removed afterwards (network, processes, databases).

    Its links are made, cut and removed in the host's namespace: no browser of a test runs
    meanwhile (tests/host_network.py).
    """
    with changing_network():
        yield from _cluster(
            directory,
            postgres_binaries=postgres_binaries,
            redis_binary=redis_binary,
            haproxy_binary=haproxy_binary,
            keys=keys,
            instances=instances,
        )


def _cluster(
    directory: Path,
    *,
    postgres_binaries: Path,
    redis_binary: str,
    haproxy_binary: str,
    keys: Keys,
    instances: int,
) -> Iterator[Cluster]:
    remove_leftovers()
    network = Network(instances)
    network.record()  # the state file exists before anything needs cleaning up
    try:
        network.create()
        postgres = PrivatePostgres(
            postgres_binaries,
            listen=("127.0.0.1", network.gateway),
            trusted=(str(network.subnet),),
        )
        network.record(command=["rm", "-rf", str(postgres.directory)])
        redis_dir = directory / "redis"
        redis_dir.mkdir()
        redis = PrivateRedis(redis_binary, redis_dir, bind=("127.0.0.1", network.gateway))
        cluster = Cluster(network, postgres, redis, keys, directory)
        try:
            postgres.create()
            postgres.start()
            network.record(
                command=postgres._run("pg_ctl", "stop", "-m", "immediate", "-D", str(postgres.data))
            )
            redis.start()
            assert redis.process is not None
            network.record(pid=redis.process.pid)
            end_quarantine(redis.url)
            cluster.instances = [
                Instance(host, f"s{host + 1}", directory / f"s{host + 1}.log")
                for host in range(instances)
            ]
            cluster.start(*cluster.instances)
            servers = {i.name: f"{network.address(i.host)}:{PORT}" for i in cluster.instances}
            cluster.proxy = start_haproxy(haproxy_binary, directory, free_port(), servers)
            network.record(pid=cluster.proxy.process.pid)
            yield cluster
        finally:
            cluster.stop()
            redis.stop()
            postgres.remove()
    finally:
        network.remove()
