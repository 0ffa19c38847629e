"""Rebasing a stale patch: apply it to the current version when nobody touched what it touches.

Theory of operation: a client made a patch from version `base`, and
meanwhile others turned `base` into `current`. If-Match then names a
version that is gone, and RFC 5789 expects the conditional patch to fail
(412). A client may instead ask the server to rebase it, with the RFC 7240
preference ``Prefer: rebase``: the server compares the pointers the patch
touches (`Patch.touched`) with the pointers that changed between base and
current. When no touched pointer overlaps a changed one (is it, or an
ancestor or descendant of it), applying the patch to `current` means what
applying it to `base` meant, and that is the result. Any overlap is a
conflict, even when the values coincide: two clients that read 3 and both
set 4 made two increments, and the second must hear of the first. The
answer then lists, for each conflicting pointer, the base, current and
requested values.

Both sets of pointers are tries built in one walk each (of the patch, and
of the two versions), and their overlaps are found by walking the paths
the two tries share (`httpconflict._pointer_trie`): the cost grows with
the size of the patch and of the documents, not with touched pointers
times changed ones, nor with the pointers' depth.

That cost is still paid once for each kept version If-Match lists, and
again on each attempt a concurrent writer spoils: 8 versions of a document
of 40,000 members, and a patch touching each, held a worker 16 s. So a
rebase is held to a budget (`rebase_budget`) of JSON values compared:
for each base, its values, the current document's and the patch's
(`httpconflict._json_size.json_values`), counted as each base is read and
before any comparison (`httpconflict._patch_flow`). Past it the preference
is declined, and the answer is what it is without it (RFC 7240 §2 lets a
server ignore a preference): 412, the version is stale.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Final

from ._errors import HeaderFieldTooLarge
from ._field_lists import list_elements
from ._json_diff import changed_trie
from ._json_pointer import JsonPointer
from ._json_value import Json
from ._merge3 import Conflict, MergeResult
from ._merge_patch import touched_trie as merge_patch_touched_trie
from ._patch import MERGE_PATCH, Patch
from ._pointer_trie import Trie, clashes, trie_of

#: The RFC 7240 preference a client sends to have a stale patch rebased.
REBASE: Final = "rebase"
PREFER: Final = "Prefer"
#: RFC 7240 §3: the answer names the preferences it honoured.
PREFERENCE_APPLIED: Final = "Preference-Applied"
#: The answer's field naming the version a rebased patch was made from.
REBASED_FROM: Final = "Rebased-From"
#: Bytes of a patch's limit per JSON value a rebase may compare: 131,072
#: values for 1 MiB, a few tenths of a second of work (one version of a
#: document of 40,000 members, and a patch touching each of them).
BYTES_PER_COMPARED_VALUE: Final = 8

# RFC 7240 §2:
#   Prefer     = 1#preference
#   preference = token [ BWS "=" BWS word ] *( OWS ";" [ OWS parameter ] )
#   word       = token / quoted-string
# Only the preference's name matters here; a quoted string may hold commas
# and semicolons, so lists are split outside quotes (`list_elements`).
_TOKEN: Final = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def preferences(lines: Iterable[str]) -> frozenset[str]:
    """The names of the preferences in Prefer field lines, lower case (RFC 7240 §2).

    "Preference names are case-insensitive"; an element that is not a
    preference is ignored, as §2 asks of what a server does not understand.
    """
    names: set[str] = set()
    for line in lines:
        try:
            elements = list_elements(line)
        except HeaderFieldTooLarge as error:
            raise error.for_header(PREFER) from None
        for element in elements:
            head = element.split(";", 1)[0].split("=", 1)[0].strip()
            if _TOKEN.fullmatch(head):
                names.add(head.lower())
    return frozenset(names)


def prefers_rebase(lines: Iterable[str]) -> bool:
    """Whether the Prefer field lines ask for a stale patch to be rebased."""
    return REBASE in preferences(lines)


def rebase_fields(rebased_from: str | None) -> dict[str, str]:
    """The header fields of a patch's answer that say it was rebased (none if it was not).

    ``Rebased-From`` names the version (its entity-tag) the patch was made
    from, and ``Preference-Applied: rebase`` says the preference was
    honoured (RFC 7240 §3).
    """
    if rebased_from is None:
        return {}
    return {REBASED_FROM: f'"{rebased_from}"', PREFERENCE_APPLIED: REBASE}


def rebase_budget(patch: Patch) -> int | None:
    """The JSON values a rebase of `patch` may compare in all (None: no limit, as its size has)."""
    if patch.max_bytes is None:
        return None
    return patch.max_bytes // BYTES_PER_COMPARED_VALUE


def rebase(patch: Patch, base: Json, current: Json) -> MergeResult:
    """`patch`, made from `base`, applied to `current`; or the conflicts, as data.

    Raises what `Patch.apply` raises when the patch does not apply to
    `base` (a failed ``test``, a missing path): it was wrong from the start.
    """
    conflicts = _conflicts(patch, base, current)
    if conflicts:
        return MergeResult(current, conflicts)
    return MergeResult(patch.apply(current))


def _conflicts(patch: Patch, base: Json, current: Json) -> tuple[Conflict, ...]:
    """Where `patch`, made from `base`, clashes with what changed from `base` to `current`."""
    requested = patch.apply(base)
    found = clashes(
        touched_trie(patch, base), changed_trie(base, current), (base, current, requested)
    )
    return tuple(Conflict(pointer, *values) for pointer, values in found)


def rebase_from_any(patch: Patch, bases: Sequence[Json], current: Json) -> tuple[MergeResult, int]:
    """`patch`, made from one of `bases` (which, unsaid), applied to `current`; or the conflicts.

    RFC 9110 §13.1.1 makes If-Match a set: a client that lists several
    versions says its patch was made from one of them, not which, and the
    order of the list means nothing. The patch is merged only when it clashes
    with nothing changed since any of them, so that whichever it came from,
    no change its client did not see is overwritten. Taking one of them
    would not do: the first listed lets ``"v2", "v1"`` overwrite what
    changed from v1 to v2; the oldest misses a change undone since (a
    pointer back in v3 to its v1 value, after v2 changed it).

    The conflicts are those of every base, one per pointer (the first
    listed base's sides where several clash there), sorted; the index is
    that of the first base that clashed (0 when none did). The patch is
    applied to the first base, as `rebase` does, and to another only where
    it clashes (for the values the answer shows): where nothing the patch
    touches changed, it does there what it does to `current`.
    """
    found: dict[JsonPointer, Conflict] = {}
    first: int | None = None
    # A JSON Patch's pointers are the same whatever the base; a merge
    # patch's depend on where the base is an object.
    touched = None if patch.media_type == MERGE_PATCH else touched_trie(patch, current)
    for index, base in enumerate(bases):
        if index == 0:
            conflicts = _conflicts(patch, base, current)
        else:
            mine = touched if touched is not None else touched_trie(patch, base)
            changed = changed_trie(base, current)
            conflicts = ()
            if clashes(mine, changed):
                values = (base, current, patch.apply(base))
                found_here = clashes(mine, changed, values)
                conflicts = tuple(Conflict(pointer, *sides) for pointer, sides in found_here)
        if conflicts and first is None:
            first = index
        for conflict in conflicts:
            found.setdefault(conflict.pointer, conflict)
    if first is not None:
        return MergeResult(current, tuple(found[pointer] for pointer in sorted(found))), first
    return MergeResult(patch.apply(current)), 0


def touched_trie(patch: Patch, base: Json) -> Trie:
    """`Patch.touched` as a trie: for a merge patch, built in one walk of the patch."""
    if patch.media_type == MERGE_PATCH:
        return merge_patch_touched_trie(patch.document, target=base)
    return trie_of(patch.touched(base))
