"""A patch document: RFC 7396 JSON Merge Patch or RFC 6902 JSON Patch, one interface.

A `Patch` applies itself to a document and says which JSON pointers it
touches: the ones it sets or removes, and for a JSON Patch also the ones
it depends on (the paths of ``test`` operations and the sources of
``copy`` and ``move``), since a patch made from one version assumed their
values there. Rebasing a stale patch (`httpconflict._rebase`) compares
those pointers with what changed since.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from ._json_domain import DEFAULT_LIMITS, check_json_domain
from ._json_patch import Operations, apply_operations, read_by, read_operations, touched_by
from ._json_pointer import JsonPointer
from ._json_value import Json
from ._media import DEFAULT_MAX_BODY, parse_json, require_media_type
from ._merge_patch import apply_merge_patch, pointers_touched_by_merge_patch

MERGE_PATCH: Final = "application/merge-patch+json"
JSON_PATCH: Final = "application/json-patch+json"
#: The patch formats, as RFC 5789 §3.1's Accept-Patch lists them.
PATCH_TYPES: Final = (MERGE_PATCH, JSON_PATCH)
#: What a patch may build unless told otherwise: the largest body a reader
#: takes (1 MiB). Thirty ``copy`` operations of the whole document into
#: itself are a 1 KB request for a billion-fold document.
DEFAULT_MAX_BYTES: Final = DEFAULT_MAX_BODY


@dataclass(frozen=True, slots=True)
class Patch:
    """A patch in one of the two formats, checked when made.

    `max_bytes`: the limit its result is held to as it is built (see
    `apply_json_patch`, `apply_merge_patch`), `DEFAULT_MAX_BYTES` unless
    given; None for no limit.
    """

    media_type: str
    document: Json
    max_bytes: int | None = DEFAULT_MAX_BYTES
    # A JSON Patch's operations, read once: a rebase applies them twice.
    _operations: Operations = field(init=False, repr=False, compare=False, default=())

    def __post_init__(self) -> None:
        if self.media_type not in PATCH_TYPES:
            raise ValueError(f"not a patch format: {self.media_type!r}")
        if self.media_type == JSON_PATCH:
            # Every operation is checked now, so a malformed one is a 400
            # before anything is read or written.
            object.__setattr__(self, "_operations", read_operations(self.document))

    @classmethod
    def parse(
        cls, content_type: str | None, body: bytes, *, max_bytes: int | None = DEFAULT_MAX_BYTES
    ) -> Patch:
        """The patch a request carries: 415 for another media type, 400 for bad JSON or ops."""
        media_type = require_media_type(content_type, PATCH_TYPES)
        return cls(media_type, parse_json(body), max_bytes)

    def apply(self, document: Json) -> Json:
        """The document after the patch (a new value).

        409 for a failed test or a missing path; 413 (`PatchTooLarge`) for
        a result, or work, over `max_bytes`. The result is held to the JSON
        domain, as a PUT of it would be (`JsonLimitExceeded`, 422).
        """
        if self.media_type == JSON_PATCH:
            # The depth is held as the patch runs too: a copy or a move can
            # nest the document into itself, deeper with each operation.
            result = apply_operations(
                document,
                self._operations,
                max_bytes=self.max_bytes,
                max_depth=DEFAULT_LIMITS.max_depth,
            )
        else:
            result = apply_merge_patch(document, self.document, max_bytes=self.max_bytes)
        check_json_domain(result)
        return result

    def touched(self, base: Json) -> frozenset[JsonPointer]:
        """The pointers whose values the patch sets, removes or depends on, made from `base`."""
        if self.media_type == JSON_PATCH:
            return touched_by(self._operations) | read_by(self._operations)
        return pointers_touched_by_merge_patch(self.document, target=base)
