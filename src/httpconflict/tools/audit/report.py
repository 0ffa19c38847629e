"""One audit's report: what was audited, each check's result, the score, the cleanup."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import _output
from .catalog import BY_ID, CHECKS, score
from .target import CleanupReport
from .verdict import CheckResult, Verdict


@dataclass(frozen=True, slots=True)
class AuditReport:
    """Everything the renderers show."""

    url: str
    started_at: str
    duration: float
    requests: int
    max_requests: int
    results: tuple[CheckResult, ...]
    cleanup: CleanupReport
    #: How the audit found the URLs it used (a trailing-slash redirect followed).
    notes: tuple[str, ...] = ()

    @property
    def score(self) -> int | None:
        return score(self.results)

    def count(self, verdict: Verdict) -> int:
        return sum(1 for r in self.results if r.verdict is verdict)

    @property
    def exit_code(self) -> int:
        """1 (FOUND) when a check failed, else 0: warnings and skips do not fail CI."""
        return _output.FOUND if self.count(Verdict.FAIL) else _output.OK

    def result(self, check: str) -> CheckResult | None:
        return next((r for r in self.results if r.check == check), None)

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON (``--json``)."""
        return {
            "url": self.url,
            "started_at": self.started_at,
            "duration_seconds": round(self.duration, 3),
            "requests": self.requests,
            "max_requests": self.max_requests,
            "score": self.score,
            "verdicts": {v.value: self.count(v) for v in Verdict},
            "checks": [
                {
                    "id": r.check,
                    "title": BY_ID[r.check].title,
                    "weight": BY_ID[r.check].weight,
                    "verdict": r.verdict.value,
                    "evidence": list(r.evidence),
                    "data": dict(r.data),
                }
                for r in self.results
            ],
            "weights": {c.id: c.weight for c in CHECKS},
            "notes": list(self.notes),
            "cleanup": self.cleanup.to_dict(),
        }
