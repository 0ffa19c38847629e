"""The oracle of the autosave experiment: which acknowledged edits were lost, exactly?

Every edit a simulated user makes sets one field to a value no other edit
uses. A tab's save carries the edits made since its previous save; when
the service acknowledges it (2xx), the oracle logs it under the ETag of
the version it stored. The service keeps every version, so the oracle
walks each document's history in order and looks at every field a version
changed:

- the save that made the version carried an edit of that field, with that
  value: an intended change, and from now on the field should hold it;
- it did not: the write replaced a value it did not mean to change (a blind
  PUT of a tab's stale copy writing back what the field held when the tab
  loaded it). The edit the field held is lost, whatever comes later.

A lost edit counts once. An edit replaced by a later *edit* of its field is
not lost: that is the users' last word. The same walk also checks that the
final document holds, for every field, the last edit nobody overwrote.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Save:
    """An acknowledged save: its tab, and the edits it carried (field -> value)."""

    tab: int
    edits: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Lost:
    """An acknowledged edit that a write which did not carry it overwrote."""

    document: str
    field: str
    value: str
    tab: int
    #: The version that overwrote it, and the tab whose save made that version.
    version: int
    by_tab: int | None


def lost_updates(
    document: str,
    history: Sequence[tuple[str, Mapping[str, Any]]],
    saves: Mapping[str, Save],
) -> list[Lost]:
    """The lost edits of one document.

    `history` is every version, oldest first, as (ETag, document); `saves`
    maps the ETag of each version an acknowledged save made to that save.
    A version no save claims (the document's creation) sets the baseline.
    """
    lost: list[Lost] = []
    holding: dict[str, tuple[str, int] | None] = {}  # field -> (edit value, tab), or None
    previous: Mapping[str, Any] = {}
    for number, (etag, body) in enumerate(history, start=1):
        save = saves.get(etag)
        for field in body.keys() | previous.keys():
            if number > 1 and body.get(field) == previous.get(field):
                continue
            value = body.get(field)
            if save is not None and save.edits.get(field) == value:
                holding[field] = (str(value), save.tab)
                continue
            edit = holding.get(field)
            if edit is not None and number > 1:
                tab = save.tab if save is not None else None
                lost.append(Lost(document, field, edit[0], edit[1], number, tab))
            holding[field] = None  # what it holds now is nobody's edit
        previous = body
    return lost
