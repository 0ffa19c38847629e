"""Keyed POSTs through Redis faults: each runs once, and none is refused for it.

The service runs with two workers and the replay cache of its keys in a
private Redis without persistence (tests/private_redis.py); 16 clients
send keyed POSTs, each sending its request again after a 5xx or a 409 in
flight (tests/service/keyed_hammer.py). Once some keys are done, the test
injects one fault: Redis stopped for 2 s and started again (losing every
key), in 1,000 POSTs with the fault after 150; its client connections
killed over and over for 1 s, in 3,000 POSTs with the fault after 150 (on
an idle machine 1,000 were done within the second, and the kills, which
the store's one retry mostly hides, left no trace to prove the fault: the
test now counts the connections killed under load); or Redis frozen
(SIGSTOP) for 6 s, in 2,000 POSTs with the fault after 300. (The code before Redis could fail
safely ran 8 and 9, and 15 and 13 keys twice in two runs of the shorter
restart and kills, as many as in the longer ones; a 3 s freeze ran none
twice in two runs, where 6 s ran 4.) Whatever the fault, every key ends with
exactly one document, and no answer is a 5xx: the keys are recorded in the
documents' database, and a write that finds Redis failing goes on without
it. (Before Redis became a cache, the same faults were answered with 503s
and Retry-After: 0 duplicates, but refusals.)
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.private_redis import PrivateRedis, end_quarantine
from tests.servers import ServiceProcess, start_service
from tests.service.keyed_hammer import Hammer

pytestmark = pytest.mark.slow

#: Short, so that the quarantine after a data loss (one lease) stays short too.
LEASE = "5"


@contextmanager
def service(redis: PrivateRedis, directory: Path) -> Iterator[ServiceProcess]:
    """The service on SQLite, two workers, the keys' replay cache in the private Redis."""
    end_quarantine(redis.url)  # a brand-new Redis: nothing ran before
    extra = ("--idempotency", redis.url, "--idempotency-lease", LEASE)
    with start_service(
        str(directory / "docs.db"), directory, workers=2, extra=extra, fork_workers=True
    ) as running:
        yield running


def store_log(service: ServiceProcess) -> Counter[str]:
    """What the service's log says happened to the keys (each line is a count; see `LOG_LINES`)."""
    lines = service.log_path.read_text().splitlines()
    return Counter(name for line in lines for name, text in LOG_LINES.items() if text in line)


#: What the service logs of its keys, by the name counted in `store_log`: the
#: replay cache failing (once per worker and failure) and a write to Redis
#: given up.
LOG_LINES = {
    "cache failed": "does not answer",
    "gave up": "gave up",
}


def restart(server: PrivateRedis) -> int:
    """Stop Redis for 2 s and start it again: without persistence, every key is lost."""
    server.stop()
    time.sleep(2)
    server.start()
    return 0


def kill_clients(server: PrivateRedis) -> int:
    """CLIENT KILL TYPE normal every 50 ms for 1 s: commands die with their connections.

    Returns how many of the service's connections were killed: the store
    tries a command once more on a new connection, so most kills show in no
    log line (the test's proof that the fault reached the service).
    """
    killed = 0
    end = time.monotonic() + 1
    while time.monotonic() < end:
        killed += server.kill_clients()
        time.sleep(0.05)
    return killed


def freeze(server: PrivateRedis) -> int:
    """SIGSTOP for 6 s, then SIGCONT: commands sent meanwhile run late, or time out first."""
    server.freeze()
    time.sleep(6)
    server.thaw()
    return 0


#: Each fault, the keyed POSTs sent through it, and how many are done before it.
FAULTS = [
    pytest.param(restart, 1000, 150, id="stop-2s-start"),
    pytest.param(kill_clients, 3000, 150, id="client-kill"),
    pytest.param(freeze, 2000, 300, id="sigstop-6s"),
]


@pytest.mark.parametrize(("fault", "posts", "before"), FAULTS)
def test_every_key_runs_once_through_the_fault(
    fault: Callable[[PrivateRedis], int],
    posts: int,
    before: int,
    private_redis: PrivateRedis,
    tmp_path: Path,
) -> None:
    """Retried keyed POSTs through a Redis fault: one document per key, no 5xx."""
    with service(private_redis, tmp_path) as running:
        hammer = Hammer(running.url, posts=posts, clients=16, deadline=60)
        hammer.start()
        hammer.wait_until_finished(before)
        under_load = not hammer.finished()
        killed = fault(private_redis)
        tally = hammer.join()
    logged = store_log(running)
    print(fault.__name__, tally.summary(), dict(logged), f"killed {killed}")
    # The fault reached the service: a failure logged, or its connections killed under load.
    reached = logged["cache failed"] >= 1 or (killed > 0 and under_load)
    assert reached, "the fault never reached the service: nothing was tested"
    assert logged["gave up"] == 0, running.log_path.read_text()[-3000:]
    assert tally.duplicated == 0, tally.summary()
    assert tally.missing == 0, tally.summary()
    assert tally.unfinished == 0, tally.summary()
    assert tally.answers[500] == 0, tally.summary()
    assert set(tally.answers) <= {201, 409}, tally.summary()
    assert tally.unexpected == [], tally.summary()
    assert tally.transport_errors == 0, tally.summary()
