"""Keyed POSTs through Redis faults: each runs once, and none is refused for it.

The service runs with two workers and the replay cache of its keys in a
private Redis without persistence (tests/private_redis.py); 16 clients
send 2,000 keyed POSTs, each sending its request again after a 5xx or a
409 in flight (tests/service/keyed_hammer.py). Once 300 keys are done,
the test injects one fault: Redis stopped for 4 s and started again
(losing every key), its client connections killed over and over for 2 s,
or Redis frozen (SIGSTOP) for 6 s. Whatever the fault, every key ends with
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
    with start_service(str(directory / "docs.db"), directory, workers=2, extra=extra) as running:
        yield running


def store_log(service: ServiceProcess) -> Counter[str]:
    """What the key store's log says happened (each line is a count; see `LOG_LINES`)."""
    lines = service.log_path.read_text().splitlines()
    return Counter(name for line in lines for name, text in LOG_LINES.items() if text in line)


#: What the key stores log, by the name counted in `store_log`.
LOG_LINES = {
    "answers recorded late": "record the answer of Idempotency-Key",
    "claims taken back": "take back the unanswered claim",
    "data loss detected": "Redis lost the idempotency keys",
    "gave up": "gave up",
}


def restart(server: PrivateRedis) -> None:
    """Stop Redis for 4 s and start it again: without persistence, every key is lost."""
    server.stop()
    time.sleep(4)
    server.start()


def kill_clients(server: PrivateRedis) -> None:
    """CLIENT KILL TYPE normal every 50 ms for 2 s: commands die with their connections."""
    end = time.monotonic() + 2
    while time.monotonic() < end:
        server.kill_clients()
        time.sleep(0.05)


def freeze(server: PrivateRedis) -> None:
    """SIGSTOP for 6 s, then SIGCONT: commands sent meanwhile run late, or time out first."""
    server.freeze()
    time.sleep(6)
    server.thaw()


FAULTS = [
    pytest.param(restart, id="stop-4s-start"),
    pytest.param(kill_clients, id="client-kill"),
    pytest.param(freeze, id="sigstop-6s"),
]


@pytest.mark.parametrize("fault", FAULTS)
def test_every_key_runs_once_through_the_fault(
    fault: Callable[[PrivateRedis], None], private_redis: PrivateRedis, tmp_path: Path
) -> None:
    """2,000 retried keyed POSTs through a Redis fault: one document per key, no 5xx."""
    with service(private_redis, tmp_path) as running:
        hammer = Hammer(running.url, posts=2000, clients=16, deadline=60)
        hammer.start()
        hammer.wait_until_finished(300)
        fault(private_redis)
        tally = hammer.join()
    logged = store_log(running)
    print(fault.__name__, tally.summary(), dict(logged))
    assert logged["gave up"] == 0, running.log_path.read_text()[-3000:]
    assert tally.duplicated == 0, tally.summary()
    assert tally.missing == 0, tally.summary()
    assert tally.unfinished == 0, tally.summary()
    assert tally.answers[500] == 0, tally.summary()
    assert set(tally.answers) <= {201, 409}, tally.summary()
    assert tally.unexpected == [], tally.summary()
    assert tally.transport_errors == 0, tally.summary()
