"""Three instances behind haproxy lose no update and duplicate no create, whatever befalls them.

Through haproxy, 6 pure-counter clients (GET n, PUT n + 1 with If-Match
and an Idempotency-Key, resent with that key after a lost answer), 3
creators (POST with a key, resent with it) and 3 watchers of the two
collections' change feeds run for 18 s, while one
instance is killed (SIGKILL) with requests in flight, another's link is
cut for 2.5 s mid-request (a write may commit while its answer is lost),
Redis restarts empty, PostgreSQL restarts, and Redis is flushed
(tests/cluster/scenario.py). The instances share one PostgreSQL and one
Redis, reached over those links, with ``--idempotency redis://...`` (the
topology of issue 18): the record of a write's answer commits with the
write in PostgreSQL, and Redis is the replay cache in front of it, so
whatever is lost, Redis included, a resend learns what became of it.
(``--idempotency db`` is the same flow without the cache, hammered by the
service tests; ``python -m tests.cluster.scenario --keys db`` runs it here.)

- 0 lost updates: the counter equals the number of increments answered
  2xx (replays included), and no count was written twice.
- 0 duplicated keyed POSTs: one document per key, and one per key answered.
- Every watcher saw every committed change of its collection exactly
  once, in commit order (the changes table is the reference).
- Every 5xx, and every request that got no answer, was in flight on the
  killed or the cut instance, or is the service's own 503/504 while
  PostgreSQL restarted.
"""

from __future__ import annotations

import pytest

from tests.cluster import scenario
from tests.cluster.cluster import Cluster

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def test_three_instances_lose_nothing_through_a_kill_a_cut_and_a_restart(
    cluster: Cluster,
) -> None:
    """Counter == increments answered; documents == keys; each 5xx caught in a fault."""
    verdict = scenario.run(cluster)
    print(verdict.summary())
    assert not verdict.failures, verdict.failures[:5]
    assert verdict.increments, "no increment was made"
    assert verdict.final == len(verdict.increments), verdict.summary()
    assert sorted(verdict.increments) == list(range(1, verdict.final + 1))
    assert verdict.duplicates == 0, verdict.summary()
    assert sorted(verdict.documents) == sorted(verdict.created), verdict.summary()
    assert len(verdict.watched) == sum(scenario.WATCHED.values())
    assert not verdict.watchers_wrong(), verdict.watchers_wrong()
    assert not verdict.unexplained, [str(e) for e in verdict.unexplained[:10]]
    killed = cluster.instances[0].name
    assert any(e[1:] == ("killed", killed) for e in cluster.events)
