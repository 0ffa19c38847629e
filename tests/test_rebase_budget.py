"""The JSON values a rebase may compare, over its bases and its attempts, before it is declined.

Driven with `run_patch` over an in-memory history, as a store would; a
patch with a small limit stands for a large patch under the service's.
"""

from __future__ import annotations

from typing import Any

from httpconflict import (
    Base,
    Conditions,
    ETag,
    Patch,
    PatchOutcome,
    Snapshot,
    Validators,
    WriteDocument,
    WriteResult,
    patch_flow,
    patch_refusal,
    run_patch,
)
from httpconflict._json_size import json_values
from httpconflict._rebase import BYTES_PER_COMPARED_VALUE, rebase_budget

MERGE = "application/merge-patch+json"
# 8 bytes a value: a budget of 64 values.
LIMIT = 64 * BYTES_PER_COMPARED_VALUE


class History:
    """Versions by tag; each read of the current one may first let another writer in."""

    def __init__(self, *versions: dict[str, Any], interloper: dict[str, Any] | None = None):
        self.versions = {f"v{n}": doc for n, doc in enumerate(versions, 1)}
        self.interloper = interloper
        self.reads = 0
        self.lookups = 0

    @property
    def current(self) -> str:
        return f"v{len(self.versions)}"

    def read(self) -> Snapshot:
        self.reads += 1
        if self.interloper is not None and self.reads > 1:
            self.versions[f"v{len(self.versions) + 1}"] = dict(self.interloper)
        return Snapshot(Validators(ETag(self.current)), self.versions[self.current])

    def read_base(self, tags: tuple[str, ...]) -> Base | None:
        self.lookups += 1
        return next((Base(t, self.versions[t]) for t in tags if t in self.versions), None)

    def write(self, command: WriteDocument) -> WriteResult:
        if self.interloper is not None:
            # Another writer got there first: the guard fails, the flow reads again.
            return WriteResult(False, Validators(ETag(self.current)))
        assert isinstance(command.document, dict)
        self.versions[f"v{len(self.versions) + 1}"] = command.document
        return WriteResult(True, Validators(ETag(self.current)))

    def rebase(self, patch: dict[str, Any], *tags: str, limit: int | None = LIMIT) -> Any:
        when = Conditions.from_headers({"if-match": ", ".join(f'"{t}"' for t in tags)})
        flow = patch_flow(when, Patch(MERGE, patch, max_bytes=limit), rebase=True)
        return run_patch(flow, self.read, self.read_base, self.write)


def members(count: int, offset: int = 0) -> dict[str, int]:
    return {f"k{i}": i + offset for i in range(count)}


def test_json_values_counts_every_value_at_any_depth() -> None:
    """A value counts itself and every member and element inside it; a long string is one."""
    assert json_values({"a": [1, {"b": None}], "c": "x" * 1000}) == 6
    assert json_values([]) == 1


def test_the_budget_is_a_value_per_8_bytes_of_the_limit() -> None:
    """1 MiB lets a rebase compare 131,072 values; a patch with no limit has no budget."""
    assert rebase_budget(Patch(MERGE, {}, max_bytes=1024 * 1024)) == 131_072
    assert rebase_budget(Patch(MERGE, {}, max_bytes=None)) is None


def test_a_rebase_within_the_budget_merges() -> None:
    """One base of 10 members, the current of 11, a patch of 1: 25 values, merged."""
    history = History(members(10), {**members(10), "other": 1})
    decision = history.rebase({"new": 1}, "v1")
    assert decision.outcome is PatchOutcome.WRITTEN
    assert decision.document == {**members(10), "other": 1, "new": 1}


def test_a_rebase_past_the_budget_is_declined_before_the_next_base_is_read() -> None:
    """Each base costs its values, the current's and the patch's: the third of 25 passes 64.

    The versions it would not have compared are never read, and the answer
    is a 412 naming the current version, as without the preference.
    """
    history = History(*(members(10, n) for n in range(6)))
    decision = history.rebase({"new": 1}, "v1", "v2", "v3", "v4", "v5")
    assert decision.outcome is PatchOutcome.REBASE_DECLINED
    assert history.lookups == 3
    refusal = patch_refusal(decision)
    assert refusal is not None
    assert refusal.status == 412
    assert refusal.problem.extensions["current_etag"] == '"v6"'
    assert "Prefer: rebase is declined" in (refusal.problem.detail or "")


def test_attempts_spoiled_by_other_writers_count_against_the_same_budget() -> None:
    """Each attempt compares again: the third of 25 values passes 64, and no more are made."""
    history = History(members(10), members(10, 1), interloper={**members(10, 2), "x": 1})
    decision = history.rebase({"new": 1}, "v1")
    assert decision.outcome is PatchOutcome.REBASE_DECLINED
    assert history.reads == 3


def test_without_a_limit_every_attempt_is_made() -> None:
    """A patch with no limit is rebased on every attempt, then contended, as before."""
    history = History(members(10), members(10, 1), interloper={**members(10, 2), "x": 1})
    decision = history.rebase({"new": 1}, "v1", limit=None)
    assert decision.outcome is PatchOutcome.CONTENDED
    assert history.reads == 8
