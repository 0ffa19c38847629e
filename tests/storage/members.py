"""Reading pages' members in the storage tests."""

from __future__ import annotations

from httpconflict.storage import ListedVersion


def numbers(members: list[ListedVersion] | None) -> list[int] | None:
    """The version numbers of a history page's members (None: never created)."""
    return None if members is None else [member.version for member in members]
