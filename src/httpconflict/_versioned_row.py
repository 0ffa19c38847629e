"""What a versioned write of a row answers: the row as written, and its new entity-tag.

Django's and SQLAlchemy's `versioned_update` and `versioned_patch` both
return a `VersionedRow`, so an answer is built the same way on either ORM:
``written.row`` for the body, ``written.etag`` for the ETag field, and
``rebase_fields(written.rebased_from)`` for a patch that was rebased. The
row is the one the write stored (read back by the statement that wrote it,
or under its lock), never a later version another writer made since.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ._deprecation import warn_deprecated
from ._etag import ETag
from ._patch_flow import PatchDecision, PatchOutcome

Row = TypeVar("Row")


@dataclass(frozen=True, slots=True)
class VersionedRow(Generic[Row]):
    """A row a versioned write stored, and its new strong entity-tag.

    `changed` is False for a patch that changed nothing (nothing was
    written; `etag` is the current one). `rebased_from` is the entity-tag
    (opaque) of the version a rebased patch was made from, else None.
    """

    row: Row
    etag: ETag
    changed: bool = True
    rebased_from: str | None = None
    #: What the function returned before it returned this (one release only).
    _legacy: Any = field(default=None, repr=False, compare=False)

    if not TYPE_CHECKING:  # the old answer's attributes are no part of the type

        def __getattr__(self, name: str) -> Any:
            legacy = object.__getattribute__(self, "_legacy")
            if legacy is None or name.startswith("__"):
                raise AttributeError(name)
            value = getattr(legacy, name)
            warn_deprecated(
                f"{type(legacy).__name__}.{name} on a VersionedRow",
                ".row, .etag, .changed or .rebased_from",
            )
            return value


def patched_row(row: Row, decision: PatchDecision) -> VersionedRow[Row]:
    """The answer of a patch that succeeded (written, or changing nothing), from its decision."""
    assert decision.current is not None
    assert decision.current.etag is not None
    return VersionedRow(
        row,
        decision.current.etag,
        changed=decision.outcome is PatchOutcome.WRITTEN,
        rebased_from=decision.rebased_from,
        # Until the next release the answer also reads as the decision it used to be.
        _legacy=decision,
    )
