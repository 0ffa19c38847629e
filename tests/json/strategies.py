"""Hypothesis strategies for JSON values, small and prone to near-misses.

Numbers come from a short list so that values collide often, and collide
in the ways Python and JSON disagree on (``1`` vs ``1.0`` vs ``true``).
Member names use pointer-hostile characters (``~``, ``/``, ``-``, digits).
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from httpconflict import apply_merge_patch

NAMES = st.text(alphabet="ab~/0-", max_size=3)
SCALARS = (
    st.none()
    | st.booleans()
    | st.sampled_from([0, 1, 2, -1, 0.0, 1.0, 2.5, 10**20])
    | st.text(alphabet="ab", max_size=2)
)
VALUES: st.SearchStrategy[Any] = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(NAMES, children, max_size=4),
    max_leaves=10,
)
OBJECTS: st.SearchStrategy[dict[str, Any]] = st.dictionaries(NAMES, VALUES, max_size=4)


@st.composite
def merge_patches(draw: st.DrawFn, target: Any) -> Any:
    """A merge patch for `target` that often names its members, nested ones too."""
    if not isinstance(target, dict):
        return draw(VALUES)
    names = st.sampled_from(sorted(target)) | NAMES if target else NAMES
    patch = {}
    for name in draw(st.lists(names, min_size=1, max_size=3, unique=True)):
        patch[name] = draw(st.none() | VALUES | merge_patches(target.get(name)))
    return patch


@st.composite
def versions(draw: st.DrawFn) -> tuple[Any, Any, Any]:
    """A base document and two edits of it, often to the same members."""
    base = draw(OBJECTS)
    current = apply_merge_patch(base, draw(merge_patches(base)))
    return base, current, apply_merge_patch(base, draw(merge_patches(base)))
