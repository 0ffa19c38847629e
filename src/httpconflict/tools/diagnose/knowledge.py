"""The knowledge base: what each known conflict looks like, and what to do about it.

Theory of operation. The entries are data (the TOML files of ``entries/``,
shipped in this package, read in the order of their names), so teaching
diagnose a new error is adding a table, not a branch. An entry says how
to recognise an error, as clues, and what to tell the user: what
conflicted, the likely cause, numbered fix steps and references. A clue
is one of

- a regex over the normalised text (compiled with `re.MULTILINE`), or
  ``@name``: any regex of the ``[patterns]`` list ``name`` (the files
  share one ``[patterns]`` table);
- ``{status = [409, ...]}``: the input shows one of these HTTP statuses;
- ``{status = [409, ...], near = 'regex'}``: one of these statuses is stated in the
  same message (log record) as a match of the regex: a 409 for a URL of a system
  whose port or paths name it (Elasticsearch's ``:9200/``, ``/_doc/``), when the
  system's own words are not in the paste;
- ``{problem_type = 'regex'}``: a problem+json ``type`` matches in full;
- ``{header = 'regex'}``: a ``name: value`` header line matches.

An entry's ``match`` table has ``all`` (every clue required), ``any``
(one required), ``none`` (any found rules the entry out), ``boost``
(each found adds to the score) and ``extract`` (regexes only read for
details). Named groups of the regexes that match become details (the
constraint, the container, the URL), which texts name as ``{constraint}``
or, with a fallback for when it was not found, ``{constraint|the constraint}``.

Entries come in three tiers, best first: a specific entry names a system's
error; a ``generic`` entry answers from the message's own words (already
exists, locked, changed since, not running) when no system is known; a
``fallback`` entry explains an HTTP status and nothing more.

httpconflict's own problem types are not written in the files: an entry
is made for each of `_problem.PROBLEM_TYPES`, so the two cannot drift.
"""

from __future__ import annotations

import enum
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any, Final

from ... import PROBLEM_TYPES, ProblemType
from ...problem_types import PROBLEM_TYPE_BASE
from .literals import learn

#: The prefix of the entries made from httpconflict's problem types.
OWN_PREFIX: Final = "httpconflict-"
#: The folder of this package that holds the entries.
ENTRIES: Final = "entries"
RFC9457: Final = "https://www.rfc-editor.org/rfc/rfc9457"
_PACKAGE: Final = __name__.rpartition(".")[0]
_ALIAS: Final = re.compile(r"@\w+")
_PLACEHOLDER: Final = re.compile(r"\{([a-z_][a-z0-9_]*)(?:\|([^{}]*))?\}")
# A sentence ends at a full stop followed by a capital or a code span.
_SENTENCE_END: Final = re.compile(r"(?<=[.!?])\s+(?=[A-Z`])")


class KnowledgeError(ValueError):
    """The knowledge base file is not well formed (names the entry)."""


class ClueKind(enum.Enum):
    TEXT = "text"
    STATUS = "status"
    STATUS_NEAR = "status_near"
    PROBLEM_TYPE = "problem_type"
    HEADER = "header"


@dataclass(frozen=True, slots=True)
class Clue:
    """One thing to look for; it is found when any of its patterns (or statuses) is."""

    kind: ClueKind
    patterns: tuple[re.Pattern[str], ...] = ()
    statuses: frozenset[int] = frozenset()
    #: As written in the file, for messages.
    source: str = ""


@dataclass(frozen=True, slots=True)
class Entry:
    """One known error: how to recognise it, and what to tell the user."""

    id: str
    system: str
    title: str
    status: int | None
    conflicted: str
    cause: str
    steps: tuple[str, ...]
    references: tuple[str, ...]
    all: tuple[Clue, ...] = ()
    any: tuple[Clue, ...] = ()
    none: tuple[Clue, ...] = ()
    boost: tuple[Clue, ...] = ()
    extract: tuple[re.Pattern[str], ...] = ()
    #: Explains an HTTP status only: ranked below every other entry.
    fallback: bool = False
    #: Answers from the message's words, for any system: ranked below the specific entries.
    generic: bool = False
    #: The problem type slug, for the entries made from httpconflict's own.
    slug: str | None = None

    @property
    def tier(self) -> int:
        """0 for a specific entry, 1 for a generic one, 2 for a status fallback."""
        return 2 if self.fallback else 1 if self.generic else 0

    @property
    def patterns(self) -> tuple[re.Pattern[str], ...]:
        """Every regex of the entry: its clues' and its extracts'."""
        clues = (*self.all, *self.any, *self.none, *self.boost)
        return (*(p for clue in clues for p in clue.patterns), *self.extract)

    @property
    def problem_type_uri(self) -> str | None:
        """For httpconflict's own problem types: the type URI."""
        return None if self.slug is None else PROBLEM_TYPE_BASE + self.slug

    def text(self, field: str, details: Mapping[str, str]) -> str:
        """`field` (``conflicted`` or ``cause``) with its placeholders filled."""
        value: str = getattr(self, field)
        return fill(value, details) if self.slug is None else value

    def filled_steps(self, details: Mapping[str, str]) -> tuple[str, ...]:
        if self.slug is not None:
            return self.steps
        return tuple(fill(step, details) for step in self.steps)


@dataclass(frozen=True, slots=True)
class KnowledgeBase:
    entries: tuple[Entry, ...]

    def get(self, entry_id: str) -> Entry | None:
        return next((e for e in self.entries if e.id == entry_id), None)

    def for_problem_type(self, slug: str) -> Entry | None:
        """The entry of httpconflict's problem type `slug`."""
        return self.get(OWN_PREFIX + slug)

    @property
    def systems(self) -> tuple[str, ...]:
        """The systems the specific entries know, in file order."""
        return tuple(dict.fromkeys(e.system for e in self.entries if e.tier == 0))


def fill(template: str, details: Mapping[str, str]) -> str:
    """``{name}`` and ``{name|fallback}`` replaced by a detail, its fallback or ``<name>``."""

    def replace(match: re.Match[str]) -> str:
        name, fallback = match.group(1), match.group(2)
        if details.get(name):
            return details[name]
        return fallback if fallback is not None else f"<{name}>"

    return _PLACEHOLDER.sub(replace, template)


@cache
def knowledge_base() -> KnowledgeBase:
    """The shipped knowledge base (read once)."""
    folder = files(_PACKAGE).joinpath(ENTRIES)
    names = sorted(f.name for f in folder.iterdir() if f.name.endswith(".toml"))
    return parse(*(folder.joinpath(name).read_text(encoding="utf-8") for name in names))


def parse(*texts: str) -> KnowledgeBase:
    """A knowledge base from TOML `texts` (in order), with an entry per httpconflict problem type.

    The texts' ``[patterns]`` and ``[status_references]`` tables are merged:
    an entry of one file may name a pattern list of another.
    """
    documents = [tomllib.loads(text) for text in texts]
    aliases: dict[str, list[str]] = {}
    status_references: dict[str, str] = {}
    for data in documents:
        twice = set(aliases) & set(data.get("patterns", {}))
        if twice:
            raise KnowledgeError(f"pattern lists named twice: {sorted(twice)}")
        aliases.update(data.get("patterns", {}))
        status_references.update(data.get("status_references", {}))
    entries = [_entry(raw, aliases) for data in documents for raw in data.get("entry", [])]
    entries.extend(_own_entry(t, status_references) for t in PROBLEM_TYPES.values())
    ids = [e.id for e in entries]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise KnowledgeError(f"entry ids used twice: {duplicates}")
    # Analysed now, so that a text's first scan looks for every string they need.
    learn(pattern for entry in entries for pattern in entry.patterns)
    return KnowledgeBase(tuple(entries))


def _entry(raw: Mapping[str, Any], aliases: Mapping[str, list[str]]) -> Entry:
    entry_id = raw.get("id", "?")
    try:
        match = raw.get("match", {})
        unknown = set(match) - {"all", "any", "none", "boost", "extract"}
        if unknown:
            raise KnowledgeError(f"unknown match keys {sorted(unknown)}")
        entry = Entry(
            id=raw["id"],
            system=raw["system"],
            title=raw["title"],
            status=raw.get("status"),
            conflicted=raw["conflicted"],
            cause=raw["cause"],
            steps=tuple(raw["steps"]),
            references=tuple(raw.get("references", ())),
            all=tuple(_clue(c, aliases) for c in match.get("all", ())),
            any=tuple(_clue(c, aliases) for c in match.get("any", ())),
            none=tuple(_clue(c, aliases) for c in match.get("none", ())),
            boost=tuple(_clue(c, aliases) for c in match.get("boost", ())),
            extract=tuple(
                p for source in match.get("extract", ()) for p in _regexes(source, aliases)
            ),
            fallback=raw.get("fallback", False),
            generic=raw.get("generic", False),
        )
    except (KeyError, TypeError, ValueError, re.error) as error:
        raise KnowledgeError(f"knowledge entry {entry_id!r}: {error!r}") from error
    if not entry.all and not entry.any:
        raise KnowledgeError(f"knowledge entry {entry_id!r} requires nothing: add `all` or `any`")
    if not entry.steps:
        raise KnowledgeError(f"knowledge entry {entry_id!r} has no fix steps")
    if entry.fallback and entry.generic:
        raise KnowledgeError(f"knowledge entry {entry_id!r} is both fallback and generic")
    return entry


def _clue(raw: str | Mapping[str, Any], aliases: Mapping[str, list[str]]) -> Clue:
    if isinstance(raw, str):
        return Clue(ClueKind.TEXT, _regexes(raw, aliases), source=raw)
    if set(raw) == {"status"}:
        return Clue(ClueKind.STATUS, statuses=frozenset(raw["status"]), source=repr(dict(raw)))
    if set(raw) == {"status", "near"}:
        return Clue(
            ClueKind.STATUS_NEAR,
            _regexes(raw["near"], aliases),
            statuses=frozenset(raw["status"]),
            source=repr(dict(raw)),
        )
    if len(raw) == 1:
        ((key, value),) = raw.items()
        kind = ClueKind(key)
        if kind in (ClueKind.PROBLEM_TYPE, ClueKind.HEADER):
            return Clue(kind, _regexes(value, aliases), source=value)
    raise KnowledgeError(f"not a clue: {raw!r}")


def _regexes(source: str, aliases: Mapping[str, list[str]]) -> tuple[re.Pattern[str], ...]:
    """`source` compiled, or the regexes of the alias ``@name`` (aliases may name aliases)."""
    if not _ALIAS.fullmatch(source):
        return (re.compile(source, re.MULTILINE),)
    name = source[1:]
    if name not in aliases:
        raise KnowledgeError(f"no pattern list named {name!r}")
    return tuple(p for item in aliases[name] for p in _regexes(item, aliases))


def _own_entry(problem_type: ProblemType, status_references: Mapping[str, str]) -> Entry:
    """The entry of one of httpconflict's problem types, recognised by its URI."""
    uri = re.escape(problem_type.uri) + r"(?![\w-])"
    references = [problem_type.uri]
    if str(problem_type.status) in status_references:
        references.append(status_references[str(problem_type.status)])
    references.append(RFC9457)
    return Entry(
        id=OWN_PREFIX + problem_type.slug,
        system="httpconflict",
        title=problem_type.title,
        status=problem_type.status,
        conflicted=problem_type.title + ".",
        cause=problem_type.cause,
        steps=sentences(problem_type.fix),
        references=tuple(references),
        any=(
            Clue(ClueKind.PROBLEM_TYPE, (re.compile(uri),), source=problem_type.uri),
            Clue(ClueKind.TEXT, (re.compile(uri),), source=problem_type.uri),
        ),
        slug=problem_type.slug,
    )


def sentences(text: str) -> tuple[str, ...]:
    """`text` cut into its sentences: a fix written as prose, as steps."""
    return tuple(s.strip() for s in _SENTENCE_END.split(text) if s.strip())


def placeholders(texts: Iterable[str]) -> set[str]:
    """The detail names `texts` refer to."""
    return {m.group(1) for text in texts for m in _PLACEHOLDER.finditer(text)}
