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

Overlaps are found with sets of pointer prefixes, so the cost grows with
the number of pointers times their depth, not with touched times changed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

from ._json_diff import changed_pointers
from ._json_pointer import JsonPointer, PointerNotFound
from ._json_value import MISSING, Json
from ._merge3 import Conflict, MergeResult
from ._patch import Patch

#: The RFC 7240 preference a client sends to have a stale patch rebased.
REBASE: Final = "rebase"
PREFER: Final = "Prefer"
#: RFC 7240 §3: the answer names the preferences it honoured.
PREFERENCE_APPLIED: Final = "Preference-Applied"
#: The answer's field naming the version a rebased patch was made from.
REBASED_FROM: Final = "Rebased-From"

# RFC 7240 §2:
#   Prefer     = 1#preference
#   preference = token [ BWS "=" BWS word ] *( OWS ";" [ OWS parameter ] )
#   word       = token / quoted-string
# Only the preference's name matters here; a quoted string may hold commas
# and semicolons, so lists are split outside quotes, in one pass (a regex
# that tries each quote as the start of a string is quadratic on a field
# full of unclosed quotes).
_TOKEN: Final = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def preferences(lines: Iterable[str]) -> frozenset[str]:
    """The names of the preferences in Prefer field lines, lower case (RFC 7240 §2).

    "Preference names are case-insensitive"; an element that is not a
    preference is ignored, as §2 asks of what a server does not understand.
    """
    names: set[str] = set()
    for line in lines:
        for element in _elements(line):
            head = element.split(";", 1)[0].split("=", 1)[0].strip()
            if _TOKEN.fullmatch(head):
                names.add(head.lower())
    return frozenset(names)


def _elements(line: str) -> list[str]:
    """The list elements of a field line: split at the commas outside quoted strings."""
    elements: list[str] = []
    start, quoted, escaped = 0, False, False
    for i, char in enumerate(line):
        if escaped:
            escaped = False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            elements.append(line[start:i])
            start = i + 1
    elements.append(line[start:])
    return elements


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


def rebase(patch: Patch, base: Json, current: Json) -> MergeResult:
    """`patch`, made from `base`, applied to `current`; or the conflicts, as data.

    Raises what `Patch.apply` raises when the patch does not apply to
    `base` (a failed ``test``, a missing path): it was wrong from the start.
    """
    requested = patch.apply(base)
    clashes = _overlaps(patch.touched(base), changed_pointers(base, current))
    if clashes:
        conflicts = tuple(
            Conflict(p, _at(base, p), _at(current, p), _at(requested, p)) for p in sorted(clashes)
        )
        return MergeResult(current, conflicts)
    return MergeResult(patch.apply(current))


def _overlaps(touched: frozenset[JsonPointer], changed: frozenset[JsonPointer]) -> set[JsonPointer]:
    """For each overlapping pair, the shorter pointer of the two."""
    if not touched or not changed:
        return set()
    changed_tokens = {p.tokens for p in changed}
    # Every pointer some changed pointer lies under (itself included).
    under_changed = {p.tokens[:n] for p in changed for n in range(len(p.tokens) + 1)}
    clashes: set[JsonPointer] = set()
    for pointer in touched:
        tokens = pointer.tokens
        if tokens in under_changed:
            clashes.add(pointer)  # the touched pointer is a changed one or an ancestor of one
            continue
        for n in range(len(tokens)):
            if tokens[:n] in changed_tokens:
                clashes.add(JsonPointer(tokens[:n]))  # a changed ancestor
                break
    return clashes


def _at(document: Json, pointer: JsonPointer) -> Json:
    try:
        return pointer.resolve(document)
    except PointerNotFound:
        return MISSING
