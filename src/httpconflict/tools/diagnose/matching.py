"""Which knowledge entries an input matches, ranked, with the details found.

Theory of operation. Each entry is scored against the evidence: every
required clue (``all``, and the best of ``any``) adds its weight, and a
missing one rules the entry out, as does a ``none`` clue found; each
``boost`` clue found adds a third of its weight, and the input showing
the entry's usual status adds a little. So an entry that explains more
of the input ranks higher: SQLAlchemy's unique violation (its wrapper
and the database's message) above PostgreSQL's alone. Entries are ranked
by tier first (`Entry.tier`): specific entries, then generic ones (the
message's own words: "already exists", "locked"...), then fallbacks (an
HTTP status and nothing more); only the best tier that matched is kept.
No entry left means "not recognised": the input is never forced into
the nearest entry, and a generic entry rules itself out for what is not
a conflict (an authentication, permission, not-found or rate-limit
answer, a connection that failed).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from .evidence import Evidence, read
from .knowledge import Clue, ClueKind, Entry, KnowledgeBase, knowledge_base

WEIGHTS: Final = {
    ClueKind.TEXT: 10,
    ClueKind.STATUS: 5,
    ClueKind.HEADER: 5,
    # A problem type URI names the problem exactly.
    ClueKind.PROBLEM_TYPE: 30,
}
BOOST_SHARE: Final = 3
#: Said with a generic answer, so that it is not taken for more than it is.
GENERIC_NOTE: Final = (
    "A generic answer, from the message's own words: no entry of the knowledge base "
    "names this system (`httpconflict diagnose --list` shows what it knows)."
)
STATUS_AGREES: Final = 2
#: Statuses below this are not an error's: never said to be the one the error came with.
MIN_ERROR_STATUS: Final = 400
MAX_DETAIL_CHARS: Final = 200


@dataclass(frozen=True, slots=True)
class Match:
    """An entry the input matched, its score, and the details found."""

    entry: Entry
    score: int
    details: Mapping[str, str]

    @property
    def conflicted(self) -> str:
        return self.entry.text("conflicted", self.details)

    @property
    def cause(self) -> str:
        return self.entry.text("cause", self.details)

    @property
    def steps(self) -> tuple[str, ...]:
        return self.entry.filled_steps(self.details)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.entry.id,
            "system": self.entry.system,
            "title": self.entry.title,
            "status": self.entry.status,
            "score": self.score,
            "conflicted": self.conflicted,
            "cause": self.cause,
            "steps": list(self.steps),
            "references": list(self.entry.references),
            "details": dict(self.details),
        }


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """The entries an input matched, best first (none: not recognised)."""

    evidence: Evidence
    matches: tuple[Match, ...]
    #: The systems the knowledge base knows, for "not recognised".
    looked_for: tuple[str, ...]
    #: How many entries the knowledge base has.
    known: int

    @property
    def best(self) -> Match | None:
        return self.matches[0] if self.matches else None

    @property
    def runners_up(self) -> tuple[Match, ...]:
        return self.matches[1:]

    @property
    def note(self) -> str | None:
        """For a generic answer, a sentence saying that it is one."""
        return GENERIC_NOTE if self.best is not None and self.best.entry.generic else None

    def not_recognised(self) -> str:
        """What was looked for and what was found, for an input no entry matched."""
        found = ", ".join(self.evidence.forms)
        statuses = ", ".join(map(str, self.evidence.statuses))
        return (
            f"Not recognised: none of the {self.known} known errors matches this input. "
            f"Looked for errors of {', '.join(self.looked_for)} (`httpconflict diagnose "
            "--list` shows them all), and for an HTTP 409, 412 or 428 status. Found: "
            f"{found}; {f'HTTP status {statuses}' if statuses else 'no HTTP status'}."
        )

    def to_dict(self) -> dict[str, Any]:
        """The diagnosis for ``--json``."""
        out: dict[str, Any] = {"recognised": self.best is not None}
        out["generic"] = self.note is not None
        if self.note is not None:
            out["note"] = self.note
        if self.best is None:
            out["message"] = self.not_recognised()
            out["looked_for"] = list(self.looked_for)
        else:
            out.update(self.best.to_dict())
            out["runners_up"] = [
                {"id": m.entry.id, "title": m.entry.title, "score": m.score}
                for m in self.runners_up
            ]
        out["evidence"] = self.evidence.to_dict()
        return out


def diagnose(text: str, knowledge: KnowledgeBase | None = None) -> Diagnosis:
    """What `text` (anything a user pasted) is, as ranked knowledge entries."""
    knowledge = knowledge or knowledge_base()
    evidence = read(text)
    scored = []
    for index, entry in enumerate(knowledge.entries):
        match = score(entry, evidence)
        if match is not None:
            scored.append((match.entry.tier, -match.score, index, match))
    scored.sort(key=lambda item: item[:3])
    matches = [item[3] for item in scored]
    if matches:
        best_tier = matches[0].entry.tier
        matches = [m for m in matches if m.entry.tier == best_tier]
    return Diagnosis(evidence, tuple(matches), knowledge.systems, len(knowledge.entries))


def score(entry: Entry, evidence: Evidence) -> Match | None:
    """`entry`'s match of `evidence`, or None when a required clue is missing."""
    total = 0
    details: dict[str, str] = {}
    for clue in entry.all:
        groups = find(clue, evidence)
        if groups is None:
            return None
        total += WEIGHTS[clue.kind]
        _merge(details, groups)
    if entry.any:
        found = [
            (clue, groups) for clue in entry.any if (groups := find(clue, evidence)) is not None
        ]
        if not found:
            return None
        total += max(WEIGHTS[clue.kind] for clue, _ in found)
        for _, groups in found:
            _merge(details, groups)
    if any(find(clue, evidence) is not None for clue in entry.none):
        return None
    for clue in entry.boost:
        groups = find(clue, evidence)
        if groups is not None:
            total += WEIGHTS[clue.kind] // BOOST_SHARE
            _merge(details, groups)
    for pattern in entry.extract:
        found_here = evidence.subject.search(pattern)
        if found_here is not None:
            _merge(details, found_here.groupdict())
    if entry.status is not None and entry.status in evidence.statuses:
        total += STATUS_AGREES
    if entry.slug is not None:
        _merge(details, _problem_members(entry, evidence))
    if evidence.urls:
        details.setdefault("url", evidence.urls[0])
    # The status the error came with: the entry's own, else the first error status; a log's
    # 2xx and 3xx lines around the error are not its status.
    errors = [status for status in evidence.statuses if status >= MIN_ERROR_STATUS]
    if entry.status in evidence.statuses or errors:
        agreeing = entry.status if entry.status in evidence.statuses else errors[0]
        details.setdefault("status", str(agreeing))
    return Match(entry, total, details)


def find(clue: Clue, evidence: Evidence) -> dict[str, str | None] | None:
    """The named groups of `clue`'s matches ({} if it has none), or None when it is not found."""
    groups: dict[str, str | None] = {}
    found = False
    if clue.kind is ClueKind.STATUS:
        return {} if clue.statuses.intersection(evidence.statuses) else None
    if clue.kind is ClueKind.TEXT:
        subjects: tuple[str, ...] = (evidence.text,)
    elif clue.kind is ClueKind.HEADER:
        subjects = evidence.headers
    else:
        subjects = evidence.problem_types
    for pattern in clue.patterns:
        for subject in subjects:
            if clue.kind is ClueKind.PROBLEM_TYPE:
                match = pattern.fullmatch(subject)
            elif clue.kind is ClueKind.TEXT:
                match = evidence.subject.search(pattern)
            else:
                match = pattern.search(subject)
            if match is not None:
                found = True
                for name, value in match.groupdict().items():
                    groups.setdefault(name, value)
                break
    return groups if found else None


def _merge(details: dict[str, str], groups: Mapping[str, str | None]) -> None:
    """Add the groups that matched and are not known yet (the first finding wins)."""
    for name, value in groups.items():
        if value is None or name in details:
            continue
        value = value.strip()
        if value:
            details[name] = value[:MAX_DETAIL_CHARS]


def _problem_members(entry: Entry, evidence: Evidence) -> dict[str, str | None]:
    """The detail and extension members of the problem whose type is `entry`'s."""
    uri = entry.problem_type_uri
    members: dict[str, str | None] = {}
    for problem in evidence.problems:
        if problem.get("type") != uri:
            continue
        for name, value in problem.items():
            if name in ("type", "title", "status"):
                continue
            text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            members.setdefault(str(name), text)
    return members
