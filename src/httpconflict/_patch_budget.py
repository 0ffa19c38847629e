"""What a JSON Patch may build, and the work it may take: held to a byte limit as it runs.

Theory of operation: a JSON Patch is small, but what it builds need not be.
Each `copy` can double the document (23 copies of a 4-byte array make
33 MB), and each insertion into or removal from an array moves every
element after it (thousands of removals at the front of a long array cost
seconds). So a patch applied with a limit of `max_bytes` carries a
`PatchBudget`, charged before each step is taken:

- the document as patched, measured as compact UTF-8 JSON text
  (`httpconflict._json_size`), stays within `max_bytes` after every
  operation that grows it. Its size is kept up to date from each step's
  own change: the size of the value placed or taken out, never of the
  whole document again;
- those values are measured once each (`httpconflict._patched_document`
  remembers them), and all the measuring a patch needs stays within
  `MEASURED_PER_BYTE` x `max_bytes` (only a patch that takes apart a
  deeply nested value level by level measures the same bytes again);
- insertions and removals in arrays move at most `SHIFTS_PER_BYTE` x
  `max_bytes` elements in all.

Going past any of them is `PatchTooLarge`: 413 content-too-large naming
``max_bytes``, as a PUT of a body over the limit is, since the document the
patch asks for is larger, or costlier to build, than the server accepts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Protocol

from ._errors import ContentTooLarge
from ._json_size import json_size
from ._json_value import Json

#: Array elements a patch may move per byte of its limit: ~67 million for
#: 1 MiB, some 10 ms of memory moves, and 600 insertions at the front of a
#: 100,000-element array.
SHIFTS_PER_BYTE: Final = 64
#: Bytes of JSON text a patch may have measured per byte of its limit: the
#: values it adds, replaces, removes, moves and copies, each measured once,
#: are at most the document and the patch, twice the limit.
MEASURED_PER_BYTE: Final = 4


class PatchTooLarge(ContentTooLarge, ValueError):
    """A patch would build a document, or do work, beyond the limit; nothing was changed.

    `max_bytes` is the limit; for a JSON Patch, `index` is the operation
    that went past it and `pointer` its path (``operation`` and ``pointer``
    in the problem).
    """

    def __init__(
        self,
        detail: str,
        *,
        max_bytes: int,
        index: int | None = None,
        pointer: str | None = None,
    ) -> None:
        extensions: dict[str, Any] = {"max_bytes": max_bytes}
        if index is not None:
            extensions["operation"] = index
        if pointer is not None:
            extensions["pointer"] = pointer
        # ContentTooLarge's own __init__ takes only max_bytes.
        super(ContentTooLarge, self).__init__(detail, **extensions)
        self.detail = detail
        self.max_bytes = max_bytes
        self.index = index
        self.pointer = pointer


class Step(Protocol):
    """Where a patch is: what a refusal names (an operation, or the patch as a whole)."""

    @property
    def label(self) -> str:
        """What is refused, as the start of a sentence ("operation 3 (copy ...)")."""

    @property
    def index(self) -> int | None:
        """The operation's position in the patch, if it has one."""

    @property
    def pointer(self) -> str | None:
        """The pointer the step writes to, as the patch wrote it, if any."""


@dataclass(slots=True)
class PatchBudget:
    """The running size of a document being patched, and the work spent on it."""

    max_bytes: int
    size: int
    measured: int = 0
    shifted: int = 0
    #: The size before the current operation: it may end no larger than
    #: this, or than the limit (a move shrinks, then grows, by as much).
    start: int = 0

    @classmethod
    def of(cls, document: Json, max_bytes: int) -> PatchBudget:
        """A budget for patching `document` (measured once, here)."""
        size = json_size(document)
        return cls(max_bytes, size, start=size)

    def begin(self) -> None:
        """Start an operation: it is judged by the size it leaves, not by its parts."""
        self.start = self.size

    def grow(self, delta: int, step: Step) -> None:
        """Account a change of `delta` bytes; refuse one that grows the document past the limit.

        An operation that leaves the document no larger than it found it is
        always taken, even when a document stored before the limit was
        lowered is still over it.
        """
        self.size += delta
        if delta > 0 and self.size > max(self.max_bytes, self.start):
            raise self._refusal(
                f"{step.label} would make the document {self.size} bytes as JSON text, "
                f"over the limit of {self.max_bytes}",
                step,
            )

    def measure(self, size: int, step: Step) -> None:
        """Account `size` bytes of JSON text measured (after the measuring, which is bounded)."""
        self.measured += size
        limit = MEASURED_PER_BYTE * self.max_bytes
        if self.measured > limit:
            raise self._refusal(
                f"{step.label} would bring the JSON text the patch takes apart, moves or copies "
                f"to {self.measured} bytes, over the limit of {limit} "
                f"({MEASURED_PER_BYTE} times the limit of {self.max_bytes})",
                step,
            )

    def shift(self, elements: int, step: Step) -> None:
        """Account `elements` array elements moved by an insertion or a removal."""
        self.shifted += elements
        limit = SHIFTS_PER_BYTE * self.max_bytes
        if self.shifted > limit:
            raise self._refusal(
                f"{step.label} would bring the array elements the patch moves (each insertion "
                f"or removal moves the ones after it) to {self.shifted}, over the limit of "
                f"{limit} ({SHIFTS_PER_BYTE} per byte of the limit of {self.max_bytes})",
                step,
            )

    def _refusal(self, detail: str, step: Step) -> PatchTooLarge:
        return PatchTooLarge(
            detail, max_bytes=self.max_bytes, index=step.index, pointer=step.pointer
        )
