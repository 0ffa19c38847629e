"""The audit against a JSON:API built to break it: a clear exit, bounded memory, no crash.

tests/audit/jsonapi_hostile_app.py answers every request with one hostile
shape of document. The audit reads at most 64 KiB of each answer (the
rest is never read: the connection is closed) within the request's time;
a body nested deeper than Python's parser goes, or longer than what is
read, is no JSON object, and when that is the resource the audit must
read, it says why and exits 3. A wrong-typed document is audited like
any API's answers. Nothing raises out of the audit.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.audit.invoke import AuditRun, audit
from tests.servers import start_app

BODY = '{"data": {"type": "notes", "attributes": {"title": "t {uid}"}}}'


@pytest.fixture
def hostile(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The hostile JSON:API with the shape the test is parametrized with; its notes URL."""
    env = {"HOSTILE_SHAPE": request.param}
    app = "tests.audit.jsonapi_hostile_app:create_app"
    with start_app(app, tmp_path, env=env, probe="/healthz") as url:
        yield f"{url}/notes"


def audited(url: str) -> tuple[AuditRun, int]:
    """The audit's run against `url`, and the peak of what Python allocated meanwhile."""
    tracemalloc.start()
    try:
        run = audit(url, "--body", BODY, "--timeout", "20", "--request-timeout", "3")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return run, peak


@pytest.mark.parametrize(
    ("hostile", "why"),
    [
        pytest.param("deep", "its JSON is nested deeper than the audit reads", id="deep"),
        pytest.param("meta", "its body is longer than the 64 KiB the audit reads", id="10mb-meta"),
        pytest.param("endless", "longer than the 64 KiB the audit reads", id="endless-body"),
        pytest.param("trickle", "no answer within 3.0 s", id="body-a-byte-at-a-time"),
    ],
    indirect=["hostile"],
)
def test_an_unreadable_resource_is_exit_3_saying_why(hostile: str, why: str) -> None:
    """Exit 3 naming why the resource could not be read; under 8 MB allocated (10 MB bodies)."""
    run, peak = audited(hostile)
    assert run.code == 3, run.stdout + run.stderr
    assert why in run.stderr
    assert peak < 8_000_000, f"{peak} bytes allocated"


@pytest.mark.parametrize("hostile", ["list", "types"], indirect=True)
def test_documents_of_the_wrong_shape_are_audited_not_crashed_on(hostile: str) -> None:
    """`data` a list; `type`, `id`, `attributes` and `meta` of the wrong types: a report."""
    run, _ = audited(hostile)
    assert run.code in (1, 3), run.stdout + run.stderr
    assert "Traceback" not in run.stderr
