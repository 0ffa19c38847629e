"""What a rebase may cost: a stale PATCH with ``Prefer: rebase`` does not hold up the worker.

A rebase compares the patch with every kept version If-Match lists (up to
8), on every attempt (up to 8): one 550 KB merge patch of 40,000 members,
listing 8 versions of a document of as many, was answered 409 after 16 s,
and the worker answered nothing else meanwhile (/healthz waited 15.9 s).
Past the budget of JSON values a rebase may compare, the preference is
declined: 412, as without it, before any comparison.
"""

from __future__ import annotations

import json
import threading
import time
import uuid

import httpx

from tests.problems import assert_problem
from tests.servers import ServiceProcess

MEMBERS = 40_000
MERGE = {"content-type": "application/merge-patch+json"}


def versions(http: httpx.Client, url: str, count: int) -> list[str]:
    """`count` versions of a document of `MEMBERS` members, each changing every one: their ETags."""
    tags: list[str] = []
    for version in range(count):
        body = json.dumps({f"k{i}": i + version for i in range(MEMBERS)}).encode()
        guard = {"If-Match": tags[-1]} if tags else {"If-None-Match": "*"}
        # Plain answers, whose tags are the ones a problem's current_etag names.
        plain = {"content-type": "application/json", "accept-encoding": "identity"}
        answer = http.put(url, content=body, headers={**plain, **guard})
        assert answer.status_code in (200, 201), answer.text
        tags.append(answer.headers["etag"])
    return tags


def current_etag(http: httpx.Client, url: str) -> str:
    """The document's ETag, read in its plain form (a gzip-coded one has a tag of its own)."""
    return http.get(url, headers={"Accept-Encoding": "identity"}).headers["etag"]


class Prober:
    """Another client of the worker, asking /healthz every 50 ms: the longest wait it saw."""

    def __init__(self, service: ServiceProcess) -> None:
        self.service = service
        self.longest = 0.0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        with self.service.client() as client:
            while not self.stop.is_set():
                started = time.monotonic()
                assert client.get("/healthz", timeout=120).status_code == 200
                self.longest = max(self.longest, time.monotonic() - started)
                self.stop.wait(0.05)

    def __enter__(self) -> Prober:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join()


def test_a_rebase_past_its_budget_is_declined_at_once(service: ServiceProcess) -> None:
    """8 listed versions of 40,000 members and a patch of as many: 412 at once, nothing written."""
    url = f"/v1/rebased/{uuid.uuid4().hex}"
    with service.client() as http:
        tags = versions(http, url, 9)
        patch = json.dumps({f"k{i}": -1 for i in range(MEMBERS)}).encode()
        with Prober(service) as prober:
            refused = http.patch(
                url,
                content=patch,
                headers={**MERGE, "If-Match": ", ".join(tags[:8]), "Prefer": "rebase"},
                timeout=120,
            )
        waited = prober.longest
        said = f"{refused.status_code} while /healthz waited {waited:.1f} s: {refused.text[:200]}"
        assert refused.status_code == 412, said
        problem = assert_problem(refused, 412)
        assert problem["current_etag"] == tags[-1]
        assert "rebase" in problem["detail"], problem
        assert current_etag(http, url) == tags[-1]
    # Far under the stall (15.9 s), with room for a loaded machine.
    assert waited < 2.5, f"/healthz waited {waited:.1f} s"


def test_a_rebase_within_the_budget_still_lists_every_clash(service: ServiceProcess) -> None:
    """One listed version of 40,000 members and a patch of as many: 409 naming all 40,000."""
    url = f"/v1/rebased/{uuid.uuid4().hex}"
    with service.client() as http:
        tags = versions(http, url, 2)
        patch = json.dumps({f"k{i}": -1 for i in range(MEMBERS)}).encode()
        refused = http.patch(
            url, content=patch, headers={**MERGE, "If-Match": tags[0], "Prefer": "rebase"}
        )
        problem = assert_problem(refused, 409)
        assert len(problem["conflicts"]) == MEMBERS
        assert current_etag(http, url) == tags[-1]
