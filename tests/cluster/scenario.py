"""The ordeal: load through haproxy while an instance dies, one is cut off, PostgreSQL restarts.

Timeline (seconds after the load began):

    0    counter clients and creators start, through haproxy
    3    s1 is killed (SIGKILL), requests in flight on it
    4    s1 is started again (up a few seconds later)
    6    s2's link is cut (its veth down), requests in flight on it
    8.5  s2's link is back
    10   Redis restarts (stop, start: without persistence, every key is lost)
    13   PostgreSQL restarts (fast shutdown, then start)
    15.5 Redis is flushed (FLUSHALL)
    18   the clients stop, each once its current request is resolved

With keys in Redis (the replay cache in front of the answers recorded in
PostgreSQL), the Redis faults must cost nothing but replays from the
database: no 5xx is explained by them, and none is needed.

Then `Verdict` says what became of it: the counter against the number of
increments answered 2xx, the documents created against the keys, and each
5xx (or answer that never came) explained by the event it was caught in,
or not.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx
import psycopg

from tests.cluster.cluster import Cluster
from tests.cluster.haproxy import REDISPATCHED
from tests.cluster.load import (
    LAST,
    Exchange,
    Tally,
    create_until,
    increment_until,
    watch_until_last,
)

COUNTERS = 6
CREATORS = 3
COUNTERS_URL = "/v1/counters"
COUNTER = f"{COUNTERS_URL}/c"
POSTS = "/v1/posts"
#: The collections watched, and by how many watchers each.
WATCHED = {COUNTERS_URL: 2, POSTS: 1}
#: Seconds the watchers have, once the load stopped, to see its last change.
WATCHERS_WITHIN = 30.0
KILL_AT = 3.0
RESTART_AT = 4.0
CUT_AT = 6.0
CUT_FOR = 2.5
REDIS_RESTART_AT = 10.0
POSTGRES_AT = 13.0
REDIS_FLUSH_AT = 15.5
STOP_AT = 18.0
#: Seconds after the kill in which a request haproxy did not log may have been closed by it.
UNLOGGED = 1.0
#: Seconds haproxy may go on sending requests to a dead instance (2 checks 300 ms apart, late).
TAKEN_OUT = 1.0
#: Seconds after PostgreSQL accepted connections again in which a 503 is still its restart's.
RESTART_GRACE = 1.5


@dataclass
class Verdict:
    final: int
    increments: list[int]
    replayed: int
    created: list[str]
    documents: list[str]
    failures: list[str]
    #: Each watched collection's seqs, as committed (the changes table).
    committed: dict[str, list[int]] = field(default_factory=dict)
    #: Each watcher's collection and the seqs it was given.
    watched: list[tuple[str, list[int]]] = field(default_factory=list)
    explained: Counter[str] = field(default_factory=Counter)
    unexplained: list[Exchange] = field(default_factory=list)
    requests: int = 0

    def watchers_wrong(self) -> list[str]:
        """Each watcher that did not see every committed change once, in commit order."""
        wrong = []
        for collection, seqs in self.watched:
            expected = self.committed[collection]
            if seqs != expected:
                missed = sorted(set(expected) - set(seqs))
                twice = len(seqs) - len(set(seqs))
                wrong.append(
                    f"a watcher of {collection} got {len(seqs)} of {len(expected)} changes: "
                    f"missed {missed[:5]}, {twice} twice, in order: {seqs == sorted(seqs)}"
                )
        return wrong

    @property
    def duplicates(self) -> int:
        return len(self.documents) - len(set(self.documents))

    def summary(self) -> str:
        return (
            f"{self.requests} requests; counter {self.final}, {len(self.increments)} increments "
            f"answered 2xx ({self.replayed} of them replays after a lost answer); "
            f"{len(self.created)} keyed POSTs, {len(self.documents)} documents "
            f"({self.duplicates} duplicated); {len(self.watched)} watchers, "
            f"{sum(len(seqs) for _, seqs in self.watched)} changes seen, "
            f"{len(self.watchers_wrong())} wrong; 5xx or no answer explained: "
            f"{dict(self.explained)}; unexplained: {len(self.unexplained)}"
        )


def run(cluster: Cluster, *, careful: bool = True) -> Verdict:
    """Load the cluster through the timeline above; what became of it."""
    with httpx.Client(base_url=cluster.url, timeout=20) as http:
        created = http.put(COUNTER, json={"n": 0}, headers={"If-None-Match": "*"})
        assert created.status_code == 201, created.text
    tally = Tally()
    stop = threading.Event()
    clients = [
        threading.Thread(
            target=increment_until,
            args=(cluster.url, COUNTER, stop, tally),
            kwargs={"careful": careful},
        )
        for _ in range(COUNTERS)
    ] + [
        threading.Thread(
            target=create_until,
            args=(cluster.url, POSTS, stop, tally),
            kwargs={"careful": careful},
        )
        for _ in range(CREATORS)
    ]
    watchers = [
        threading.Thread(target=watch_until_last, args=(cluster.url, url, tally), daemon=True)
        for url, count in WATCHED.items()
        for _ in range(count)
    ]
    for watcher in watchers:
        watcher.start()
    began = time.monotonic()
    for thread in clients:
        thread.start()
    killed, cut = cluster.instances[0], cluster.instances[1]
    restarting: threading.Thread | None = None
    try:
        _sleep_until(began + KILL_AT)
        cluster.kill(killed)
        _sleep_until(began + RESTART_AT)
        restarting = threading.Thread(target=cluster.start, args=(killed,))
        restarting.start()
        _sleep_until(began + CUT_AT)
        cluster.cut(cut)
        _sleep_until(began + CUT_AT + CUT_FOR)
        cluster.mend(cut)
        _sleep_until(began + REDIS_RESTART_AT)
        cluster.restart_redis()
        _sleep_until(began + POSTGRES_AT)
        cluster.restart_postgres()
        _sleep_until(began + REDIS_FLUSH_AT)
        cluster.flush_redis()
        _sleep_until(began + STOP_AT)
    finally:
        stop.set()
        for thread in clients:
            thread.join()
        if restarting is not None:
            restarting.join()
        # The last change of each watched collection; its watchers stop there.
        with httpx.Client(base_url=cluster.url, timeout=20) as http:
            for url in WATCHED:
                last = http.put(f"{url}/{LAST}", json={}, headers={"If-None-Match": "*"})
                assert last.status_code == 201, last.text
        deadline = time.monotonic() + WATCHERS_WITHIN
        for watcher in watchers:
            watcher.join(max(0.0, deadline - time.monotonic()))
    return _verdict(cluster, tally)


def _sleep_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.monotonic()))


def _verdict(cluster: Cluster, tally: Tally) -> Verdict:
    with httpx.Client(base_url=cluster.url, timeout=20) as http:
        final = http.get(COUNTER).json()["n"]
    with psycopg.connect(cluster.postgres.url) as conn:
        rows = conn.execute(
            "SELECT body FROM documents WHERE collection = 'posts' AND etag IS NOT NULL "
            "AND id <> %s",
            (LAST,),
        ).fetchall()
        committed = {
            url: [
                seq
                for (seq,) in conn.execute(
                    "SELECT seq FROM changes WHERE collection = %s ORDER BY seq",
                    (url.removeprefix("/v1/"),),
                )
            ]
            for url in WATCHED
        }
    verdict = Verdict(
        final=final,
        increments=list(tally.increments),
        replayed=len(tally.replayed),
        created=list(tally.created),
        documents=[json.loads(body)["key"] for (body,) in rows],
        failures=list(tally.failures),
        requests=len(tally.exchanges),
        committed=committed,
        watched=list(tally.watched),
    )
    assert cluster.proxy is not None
    servers = cluster.proxy.servers_by_request()
    for exchange in tally.exchanges:
        if exchange.status is not None and exchange.status < 500:
            continue
        reason = explain(cluster, exchange, servers.get(exchange.request_id, ""))
        if reason is None:
            verdict.unexplained.append(exchange)
        else:
            verdict.explained[reason] += 1
    return verdict


def explain(cluster: Cluster, exchange: Exchange, logged: str) -> str | None:
    """Which event a 5xx (or no answer) was caught in, if any.

    `logged`: the server haproxy's log says had the request (for one that
    got no answer, and so no X-Served-By).
    """
    server = exchange.served_by or logged.removesuffix(REDISPATCHED)
    moments: dict[tuple[str, str], float] = {(what, who): at for at, what, who in cluster.events}
    killed = cluster.instances[0].name
    cut = cluster.instances[1].name
    killed_at = moments.get(("killed", killed))
    if (
        killed_at is not None
        and server == killed
        and exchange.sent <= killed_at + TAKEN_OUT
        and exchange.answered >= killed_at
    ):
        # Sent before the kill, or just after it on a connection haproxy
        # had open to it, before its health check took it out.
        return "in flight on the killed instance"
    cut_at, mended_at = moments.get(("cut", cut)), moments.get(("mended", cut))
    if (
        cut_at is not None
        and mended_at is not None
        and server == cut
        and exchange.sent <= mended_at
        and exchange.answered >= cut_at
    ):
        return "in flight on the cut instance"
    stopping, ready = moments.get(("stopping", "postgres")), moments.get(("ready", "postgres"))
    if (
        stopping is not None
        and ready is not None
        and exchange.status in (503, 504)
        and exchange.problem
        and exchange.sent <= ready + RESTART_GRACE
        and exchange.answered >= stopping
    ):
        # The service's own answer (a problem): 503 with Retry-After while it
        # could not reach PostgreSQL, 504 for a write whose connection broke.
        return f"PostgreSQL restarting ({exchange.status})"
    if exchange.status is None and not server:
        # No answer, and no line in haproxy's log (it logs no request whose
        # connection it closed as it took a server out): by its time.
        if killed_at is not None and killed_at <= exchange.answered <= killed_at + UNLOGGED:
            return "no answer, at the kill"
        if (
            cut_at is not None
            and mended_at is not None
            and cut_at <= exchange.answered <= mended_at
        ):
            return "no answer, at the cut"
    if (
        exchange.status is None
        and logged.endswith(REDISPATCHED)
        and killed_at is not None
        and killed_at <= exchange.answered <= killed_at + UNLOGGED
    ):
        # Sent to the killed instance, whose connection was refused, then sent
        # on to another: ended with the killed instance's sessions when its
        # check took it out (haproxy's log: termination "D", retries "+1").
        return "no answer, redispatched from the killed instance"
    return None


def main() -> None:
    """``python -m tests.cluster.scenario [--keys redis] [--naive] [--runs N]``, as root.

    The test's scenario with other settings, each run's verdict printed:
    the numbers docs/scaling.md gives for keys in Redis and naive clients.
    """
    import argparse
    import os
    import shutil
    import tempfile
    from pathlib import Path

    from tests.cluster.cluster import start_cluster
    from tests.cluster.haproxy import haproxy_binary
    from tests.private_postgres import postgres_binaries
    from tests.private_redis import redis_server_binary

    parser = argparse.ArgumentParser(prog="python -m tests.cluster.scenario")
    parser.add_argument("--keys", choices=["db", "redis"], default="redis")
    parser.add_argument("--naive", action="store_true", help="a new key on each resend")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    binaries, redis, haproxy = postgres_binaries(), redis_server_binary(), haproxy_binary()
    assert not isinstance(binaries, str), binaries
    assert redis is not None
    assert haproxy is not None
    for number in range(args.runs):
        with (
            tempfile.TemporaryDirectory(prefix="hc-cluster-") as directory,
            start_cluster(
                Path(directory),
                postgres_binaries=binaries,
                redis_binary=redis,
                haproxy_binary=haproxy,
                keys=args.keys,
            ) as cluster,
        ):
            verdict = run(cluster, careful=not args.naive)
            lost = verdict.final - len(verdict.increments)
            print(f"{verdict.summary()}; counter - increments = {lost}", flush=True)
            for line in [*verdict.failures, *verdict.watchers_wrong(), *verdict.unexplained][:5]:
                print(f"  {line}", flush=True)
            if verdict.unexplained or verdict.watchers_wrong():
                events = [(round(at, 2), what, who) for at, what, who in cluster.events]
                kept = Path.cwd() / f"cluster-{os.getpid()}-{number}"
                shutil.copytree(cluster.directory, kept, ignore=shutil.ignore_patterns("redis"))
                print(f"  events: {events}; logs kept in {kept}", flush=True)


if __name__ == "__main__":
    main()
