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
import re
from bisect import bisect_left
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from .evidence import Evidence, read
from .knowledge import Clue, ClueKind, Entry, KnowledgeBase, knowledge_base
from .records import record
from .validation import not_a_conflict

WEIGHTS: Final = {
    ClueKind.TEXT: 10,
    ClueKind.STATUS: 5,
    # A status stated with the words or URL of a system names that system's error.
    ClueKind.STATUS_NEAR: 10,
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
#: A detail further than this many lines from where the entry's clues were found is not
#: the conflict's: another request's URL, another error's table.
NEAR_LINES: Final = 40
#: Matches of one detail pattern read at most (a log may repeat a line thousands of times).
MAX_MATCHES: Final = 200
#: The clues whose patterns' named groups are details.
_READ: Final = frozenset({ClueKind.TEXT, ClueKind.STATUS_NEAR})


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
        if not self.evidence.text.strip():
            return (
                "Not recognised: the input is empty (nothing but white space). Paste the "
                "error message, or pass the file or log that holds it."
            )
        found = ", ".join(self.evidence.forms)
        statuses = ", ".join(map(str, self.evidence.statuses))
        said = (
            f"Not recognised: none of the {self.known} known errors matches this input. "
            f"Looked for errors of {', '.join(self.looked_for)} (`httpconflict diagnose "
            "--list` shows them all), and for an HTTP 409, 412 or 428 status. Found: "
            f"{found}; {f'HTTP status {statuses}' if statuses else 'no HTTP status'}."
        )
        other = not_a_conflict(self.evidence.text)
        return said if other is None else f"{said} {other}"

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
    anchors: list[int] = []
    found_clues: list[Clue] = []
    for clue in entry.all:
        where = find(clue, evidence)
        if where is None:
            return None
        total += WEIGHTS[clue.kind]
        anchors.extend(where)
        found_clues.append(clue)
    if entry.any:
        found = [(clue, where) for clue in entry.any if (where := find(clue, evidence)) is not None]
        if not found:
            return None
        total += max(WEIGHTS[clue.kind] for clue, _ in found)
        for clue, where in found:
            anchors.extend(where)
            found_clues.append(clue)
    near = _Nearness(evidence, anchors)
    # A status rules the entry out when the message came with it, not another request of
    # the log (a 404 of a health check is no reason to doubt a write conflict).
    if any(
        near.stated(clue.statuses)
        if clue.kind is ClueKind.STATUS
        else find(clue, evidence) is not None
        for clue in entry.none
    ):
        return None
    boosts = [clue for clue in entry.boost if find(clue, evidence) is not None]
    total += sum(WEIGHTS[clue.kind] // BOOST_SHARE for clue in boosts)
    if entry.status is not None and entry.status in evidence.statuses:
        total += STATUS_AGREES
    details: dict[str, str] = {}
    for rank, patterns in enumerate(
        (
            [p for clue in found_clues if clue.kind in _READ for p in clue.patterns],
            [p for clue in boosts if clue.kind in _READ for p in clue.patterns],
            list(entry.extract),
        )
    ):
        near.read(patterns, rank)
    for clue in (*found_clues, *boosts):
        if clue.kind is ClueKind.HEADER:
            _merge(details, _header_groups(clue, evidence))
    details = {**near.details(), **details}
    if entry.slug is not None:
        _merge(details, _problem_members(entry, evidence))
    status = near.status(entry.status)
    if status is not None:
        details.setdefault("status", str(status))
    url = near.url(status)
    if url is not None:
        details.setdefault("url", url)
    return Match(entry, total, details)


def find(clue: Clue, evidence: Evidence) -> list[int] | None:
    """The lines of the paste where `clue` is found (none known: []), or None when it is not."""
    if clue.kind is ClueKind.STATUS:
        lines = [
            evidence.places.line(s.at)
            for s in evidence.statements
            if s.status is not None and s.status in clue.statuses
        ]
        return lines if lines else None
    if clue.kind is ClueKind.STATUS_NEAR:
        return _stated_near(clue, evidence)
    if clue.kind is ClueKind.TEXT:
        for pattern in clue.patterns:
            match = evidence.subject.search(pattern)
            if match is not None:
                return [evidence.places.line(match.start())]
        return None
    subjects = evidence.headers if clue.kind is ClueKind.HEADER else evidence.problem_types
    for pattern in clue.patterns:
        for subject in subjects:
            if clue.kind is ClueKind.PROBLEM_TYPE:
                found = pattern.fullmatch(subject)
            else:
                found = pattern.search(subject)
            if found is not None:
                return []
    return None


def _stated_near(clue: Clue, evidence: Evidence) -> list[int] | None:
    """The lines of a status of `clue` and of a match of its patterns in the same record
    (a log's message), or None when no status of it is stated with such a match."""
    places = evidence.places
    stated = sorted({places.line(s.at) for s in evidence.statements if s.status in clue.statuses})
    if not stated:
        return None
    for pattern in clue.patterns:
        for count, match in enumerate(evidence.subject.finditer(pattern)):
            if count >= MAX_MATCHES:
                break
            line = places.line(match.start())
            first, last = record(line, places.lines, places.text_of, places.starts)
            at = bisect_left(stated, first)
            if at < len(stated) and stated[at] <= last:
                return [line, stated[at]]
    return None


def _header_groups(clue: Clue, evidence: Evidence) -> dict[str, str | None]:
    """The named groups of the first header line `clue` matches."""
    for pattern in clue.patterns:
        for header in evidence.headers:
            match = pattern.search(header)
            if match is not None:
                return match.groupdict()
    return {}


class _Nearness:
    """Details read nearest the message that is the conflict: the lines where the entry's
    required clues were found (the anchors).

    A long log holds other requests, other errors and stack frames naming other tables:
    a detail is taken from the match nearest an anchor (in lines of the paste; on a tie, from
    the entry's required clues before its boosts and extracts, then the first in the text),
    and only within `NEAR_LINES` of one. A status or URL stated further away is another
    request's; a URL stated with another status than the error's is too.
    """

    def __init__(self, evidence: Evidence, anchors: list[int]) -> None:
        self._evidence = evidence
        self._anchors = sorted(set(anchors))
        places = evidence.places
        #: The records (first and last line) that hold the anchors: the message.
        self._records = [
            record(line, places.lines, places.text_of, places.starts) for line in self._anchors
        ]
        self._best: dict[str, tuple[tuple[int, int, int], str]] = {}
        self._order = 0

    def in_message(self, line: int) -> bool:
        """`line` is in a record of the message (with no anchor known: every line is)."""
        return not self._anchors or any(first <= line <= last for first, last in self._records)

    def distance(self, line: int) -> int | None:
        """How many lines `line` is from the nearest anchor, or None when it is too far
        (with no anchor known, every line is near: a header or a problem type matched)."""
        if not self._anchors:
            return 0
        at = bisect_left(self._anchors, line)
        gaps = [abs(self._anchors[i] - line) for i in (at - 1, at) if 0 <= i < len(self._anchors)]
        gap = min(gaps)
        return gap if gap <= NEAR_LINES else None

    def read(self, patterns: list[re.Pattern[str]], rank: int) -> None:
        """Offer the named groups of every match of `patterns` (`rank`: the tie-break)."""
        evidence = self._evidence
        for pattern in patterns:
            if not pattern.groupindex:
                continue
            for count, match in enumerate(evidence.subject.finditer(pattern)):
                if count >= MAX_MATCHES:
                    break
                line = evidence.places.line(match.start())
                gap = self.distance(line)
                if gap is None or not self.in_message(line):
                    continue
                self._order += 1
                for name, value in match.groupdict().items():
                    value = (value or "").strip()
                    key = (gap, rank, self._order)
                    if value and (name not in self._best or key < self._best[name][0]):
                        self._best[name] = (key, value[:MAX_DETAIL_CHARS])

    def stated(self, statuses: frozenset[int]) -> bool:
        """One of `statuses` is stated in the message."""
        places = self._evidence.places
        return any(
            s.status in statuses and self.in_message(places.line(s.at))
            for s in self._evidence.statements
        )

    def details(self) -> dict[str, str]:
        return {name: value for name, (_, value) in self._best.items()}

    def status(self, own: int | None) -> int | None:
        """The status the error came with: of the statuses stated in the message, the entry's
        own, else the error status (400 and above) nearest; a log's 2xx and 3xx lines
        around it are not its."""
        places = self._evidence.places
        near: list[tuple[int, int, int]] = []
        for index, stated in enumerate(self._evidence.statements):
            status = stated.status
            if status is None or not self.in_message(line := places.line(stated.at)):
                continue
            if status == own:
                return own
            gap = self.distance(line)
            if status >= MIN_ERROR_STATUS and gap is not None:
                near.append((gap, index, status))
        return min(near)[2] if near else None

    def url(self, status: int | None) -> str | None:
        """The URL stated nearest the message, with no status or with the error's."""
        near = [
            (gap, index, s.url)
            for index, s in enumerate(self._evidence.statements)
            if s.url
            and (s.status is None or s.status == status)
            and self.in_message(line := self._evidence.places.line(s.at))
            and (gap := self.distance(line)) is not None
        ]
        return min(near)[2] if near else None


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
