"""Rebasing a stale patch: the Prefer preference, and which pointers clash."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from httpconflict import JsonPointer, Patch, prefers_rebase, rebase
from httpconflict._rebase import _overlaps, preferences


@pytest.mark.parametrize(
    ("lines", "names"),
    [
        pytest.param(["rebase"], {"rebase"}, id="rfc7240-2-token"),
        pytest.param(["REBASE"], {"rebase"}, id="rfc7240-2-case-insensitive"),
        pytest.param(["respond-async, wait=5"], {"respond-async", "wait"}, id="rfc7240-2-list"),
        pytest.param(["return=minimal; foo", "rebase"], {"return", "rebase"}, id="two-lines"),
        pytest.param(['x="a, rebase"'], {"x"}, id="comma-inside-a-quoted-string"),
        pytest.param(['x="a \\" , rebase"'], {"x"}, id="escaped-quote-inside-a-string"),
        pytest.param(['x="unclosed, rebase'], {"x"}, id="unclosed-string-to-the-end"),
        pytest.param(["rebase ; p=1 , wait = 3"], {"rebase", "wait"}, id="ows-around-parameters"),
        pytest.param(["(rebase)", "", ",,"], set(), id="not-a-token-ignored"),
    ],
)
def test_preference_names(lines: list[str], names: set[str]) -> None:
    """The preference names of Prefer field lines, split outside quoted strings."""
    assert preferences(lines) == names
    assert prefers_rebase(lines) is ("rebase" in names)


pointers = st.lists(st.sampled_from("abc"), max_size=3).map(JsonPointer.from_tokens)


@given(st.frozensets(pointers, max_size=6), st.frozensets(pointers, max_size=6))
def test_overlaps_are_those_of_every_pair(
    touched: frozenset[JsonPointer], changed: frozenset[JsonPointer]
) -> None:
    """The clashes found by prefix sets are, for each overlapping pair, the shorter pointer.

    (changed_pointers never reports a pointer and its ancestor together, so
    the changed sets are kept to such sets here.)
    """
    changed = frozenset(c for c in changed if not any(o.is_ancestor_of(c) for o in changed))
    pairwise = {
        min(t, c, key=lambda p: len(p.tokens)) for t in touched for c in changed if t.overlaps(c)
    }
    assert _overlaps(touched, changed) == pairwise


def test_a_clash_is_a_clash_even_when_the_values_agree() -> None:
    """Two clients that read 3 and both set 4 made two increments: the second clashes."""
    patch = Patch("application/merge-patch+json", {"n": 4})
    merged = rebase(patch, {"n": 3, "a": 1}, {"n": 4, "a": 1})
    assert [(str(c.pointer), c.base, c.current, c.requested) for c in merged.conflicts] == [
        ("/n", 3, 4, 4)
    ]


def test_a_patch_beside_the_changes_is_applied_to_the_current_document() -> None:
    """Another member changed since the base: the patch lands on the current document."""
    patch = Patch("application/json-patch+json", [{"op": "replace", "path": "/b", "value": 2}])
    merged = rebase(patch, {"a": 1, "b": 1}, {"a": 9, "b": 1})
    assert (merged.document, merged.conflicts) == ({"a": 9, "b": 2}, ())
