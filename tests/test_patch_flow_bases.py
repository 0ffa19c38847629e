"""A rebase from an If-Match that lists several kept versions: safe whichever the patch came from.

RFC 9110 §13.1.1 makes If-Match a set ("if any of the listed tags
match"): its order says nothing. A client that lists several versions it
holds says its patch was made from one of them, without saying which. The
rebase must then not depend on the order, and must refuse a patch that
clashes with what changed since any of them: before, the first listed tag
found was the base, so ``If-Match: "v2", "v1"`` on a patch made from v1
overwrote, without a 409, the change v1 → v2 that its client never saw.

Driven with `run_patch` over an in-memory history, as a store would.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from httpconflict import (
    Base,
    Conditions,
    ETag,
    Patch,
    PatchDecision,
    PatchOutcome,
    ProblemError,
    Snapshot,
    Validators,
    WriteDocument,
    WriteResult,
    json_equal,
    patch_flow,
    run_patch,
)
from httpconflict._rebase import rebase, rebase_from_any

MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"


class History:
    """Versions by tag, the last one current; writes add a version (no I/O)."""

    def __init__(self, *versions: dict[str, Any]) -> None:
        self.versions: dict[str, dict[str, Any]] = {}
        self.current = ""
        self.lookups: list[tuple[str, ...]] = []
        for version in versions:
            self.add(version)

    def add(self, document: dict[str, Any]) -> str:
        tag = f"v{len(self.versions) + 1}"
        self.versions[tag] = document
        self.current = tag
        return tag

    def read(self) -> Snapshot:
        return Snapshot(Validators(ETag(self.current)), self.versions[self.current])

    def read_base(self, tags: tuple[str, ...]) -> Base | None:
        self.lookups.append(tags)
        for tag in tags:
            if tag in self.versions:
                return Base(tag, self.versions[tag])
        return None

    def write(self, command: WriteDocument) -> WriteResult:
        assert isinstance(command.document, dict)
        tag = self.add(command.document)
        return WriteResult(True, Validators(ETag(tag)))

    def patch(self, patch: dict[str, Any], *tags: str) -> PatchDecision:
        when = Conditions.from_headers({"if-match": ", ".join(f'"{t}"' for t in tags)})
        flow = patch_flow(when, Patch(MERGE, patch), rebase=True)
        return run_patch(flow, self.read, self.read_base, self.write)


def pointers(decision: PatchDecision) -> list[str]:
    return [str(conflict.pointer) for conflict in decision.conflicts]


@pytest.mark.parametrize("tags", [("v2", "v1"), ("v1", "v2")], ids=["newer-first", "older-first"])
def test_a_change_since_the_older_listed_version_clashes_in_either_order(
    tags: tuple[str, str],
) -> None:
    """v1 → v2 set /x, v2 → v3 set /y: a patch of /x listing v1 and v2 is a 409 on /x."""
    history = History({"x": 1, "y": 1}, {"x": 2, "y": 1}, {"x": 2, "y": 2})
    decision = history.patch({"x": 10}, *tags)
    assert decision.outcome is PatchOutcome.CONFLICT
    assert pointers(decision) == ["/x"]
    assert history.versions[history.current] == {"x": 2, "y": 2}


@pytest.mark.parametrize("tags", [("v2", "v1"), ("v1", "v2")], ids=["newer-first", "older-first"])
def test_a_change_since_the_newer_listed_version_clashes_even_when_it_undid_one(
    tags: tuple[str, str],
) -> None:
    """v2 set /x to 2, v3 set it back to 1: a patch of /x made from v2 must hear of it.

    Taking the oldest listed version as the base would miss this: /x is
    the same in v1 and v3, and only the newer listed version shows the change.
    """
    history = History({"x": 1, "y": 1}, {"x": 2, "y": 1}, {"x": 1, "y": 2})
    decision = history.patch({"x": 10}, *tags)
    assert decision.outcome is PatchOutcome.CONFLICT
    assert pointers(decision) == ["/x"]


@pytest.mark.parametrize("tags", [("v2", "v1"), ("v1", "v2")], ids=["newer-first", "older-first"])
def test_a_patch_beside_every_change_is_merged_in_either_order(tags: tuple[str, str]) -> None:
    """Nothing the patch touches changed since v1 or v2: merged, naming the first listed base."""
    history = History({"x": 1, "y": 1, "z": 1}, {"x": 2, "y": 1, "z": 1}, {"x": 2, "y": 2, "z": 1})
    decision = history.patch({"z": 10}, *tags)
    assert decision.outcome is PatchOutcome.WRITTEN
    assert decision.document == {"x": 2, "y": 2, "z": 10}
    assert decision.rebased_from == tags[0]


def test_unknown_tags_among_the_listed_ones_are_passed_over() -> None:
    """Made-up tags are not versions: the kept ones listed are the bases."""
    history = History({"x": 1, "y": 1}, {"x": 2, "y": 1}, {"x": 2, "y": 2})
    decision = history.patch({"x": 10}, "made-up", "v2", "other", "v1")
    assert decision.outcome is PatchOutcome.CONFLICT
    assert pointers(decision) == ["/x"]


def test_no_kept_version_listed_is_base_unknown() -> None:
    """Every listed tag unknown: 412, as with one."""
    history = History({"x": 1}, {"x": 2})
    decision = history.patch({"x": 10}, "made-up", "other")
    assert decision.outcome is PatchOutcome.BASE_UNKNOWN


VERSIONS = st.lists(
    st.fixed_dictionaries({}, optional={k: st.integers(0, 2) for k in "abc"}),
    min_size=2,
    max_size=5,
)


@given(
    versions=VERSIONS,
    patch=st.dictionaries(st.sampled_from("abc"), st.integers(5, 6) | st.none(), min_size=1),
    data=st.data(),
)
def test_the_outcome_does_not_depend_on_the_order_of_the_tags(
    versions: list[dict[str, Any]], patch: dict[str, Any], data: st.DataObject
) -> None:
    """Every order of the same listed tags gives the same outcome, document and conflicts."""
    stale = [f"v{n}" for n in range(1, len(versions))]
    listed = data.draw(st.lists(st.sampled_from(stale), min_size=1, max_size=3, unique=True))
    seen = set()
    for order in itertools.permutations(listed):
        history = History(*versions)
        decision = history.patch(patch, *order)
        seen.add(
            (decision.outcome, repr(decision.document), tuple(sorted(set(pointers(decision)))))
        )
        if decision.outcome is PatchOutcome.WRITTEN:
            # Merged only when no listed version saw a touched member differ from now.
            for tag in order:
                for name in patch:
                    assert history.versions[tag].get(name) == versions[-1].get(name)
    assert len(seen) == 1, seen


JSON_PATCH_OPS = st.lists(
    st.fixed_dictionaries(
        {
            "op": st.sampled_from(["add", "remove", "replace", "move", "copy", "test"]),
            "path": st.sampled_from(["/a", "/b", "/a/x", "/c"]),
            "from": st.sampled_from(["/a", "/b", "/a/x"]),
            "value": st.integers(0, 2) | st.fixed_dictionaries({"x": st.integers(0, 2)}),
        }
    ),
    min_size=1,
    max_size=3,
)
NESTED_VERSIONS = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            k: st.integers(0, 2) | st.fixed_dictionaries({}, optional={"x": st.integers(0, 2)})
            for k in "abc"
        },
    ),
    min_size=2,
    max_size=5,
)


@given(
    versions=NESTED_VERSIONS,
    merge_patch=st.dictionaries(
        st.sampled_from("abc"),
        st.integers(5, 6) | st.none() | st.fixed_dictionaries({"x": st.integers(5, 6)}),
        min_size=1,
    ),
    operations=JSON_PATCH_OPS,
    json_patch=st.booleans(),
    count=st.integers(1, 4),
)
def test_rebasing_from_several_bases_is_rebasing_from_each(
    versions: list[dict[str, Any]],
    merge_patch: dict[str, Any],
    operations: list[dict[str, Any]],
    *,
    json_patch: bool,
    count: int,
) -> None:
    """`rebase_from_any` clashes where `rebase` from a base does, and else merges like it."""
    try:
        patch = Patch(JSON_PATCH, operations) if json_patch else Patch(MERGE, merge_patch)
        patch.apply(versions[0])
    except ProblemError:
        return
    bases, current = versions[:-1][:count], versions[-1]
    try:
        merged, clashed = rebase_from_any(patch, bases, current)
    except ProblemError:
        return
    each = [rebase(patch, base, current) for base in bases if _applies(patch, base)]
    expected = {str(c.pointer) for result in each for c in result.conflicts}
    assert {str(c.pointer) for c in merged.conflicts} == expected
    if not expected:
        assert json_equal(merged.document, patch.apply(current))
    else:
        assert merged.conflicts == tuple(sorted(merged.conflicts, key=lambda c: c.pointer))
        assert rebase(patch, bases[clashed], current).conflicts


def _applies(patch: Patch, document: Any) -> bool:
    try:
        patch.apply(document)
    except ProblemError:
        return False
    return True
