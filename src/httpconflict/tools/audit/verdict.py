"""What one check concluded: a verdict, the evidence, and the numbers behind it."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


class Verdict(enum.StrEnum):
    """A check's conclusion."""

    PASS = "pass"  # noqa: S105 (a verdict, not a password)
    #: Works, but not as the specifications recommend (a weak ETag, 422 for a conflict).
    WARN = "warn"
    FAIL = "fail"
    #: Not measured: not applicable, or out of budget, time or answers.
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One check's verdict; `evidence` in sentences, `data` as JSON-able numbers."""

    check: str
    verdict: Verdict
    evidence: tuple[str, ...]
    data: Mapping[str, Any] = field(default_factory=dict)


#: From worst to best, for combining the parts of one check.
SEVERITY = (Verdict.FAIL, Verdict.WARN, Verdict.PASS, Verdict.SKIPPED)


def worst(verdicts: Iterable[Verdict]) -> Verdict:
    """The worst of `verdicts` (a failure outweighs a warning outweighs a pass)."""
    return min(verdicts, key=SEVERITY.index, default=Verdict.SKIPPED)
