"""The knowledge base: well formed, in step with httpconflict's problem types."""

from __future__ import annotations

import re
import time
from importlib.resources import files

import pytest

from httpconflict._problem import PROBLEM_TYPES
from httpconflict.tools.diagnose.knowledge import (
    ENTRIES,
    OWN_PREFIX,
    Entry,
    KnowledgeError,
    fill,
    knowledge_base,
    parse,
    placeholders,
    sentences,
)

ENTRY = """
[[entry]]
id = "x"
system = "X"
title = "X"
conflicted = "c"
cause = "c"
steps = ["s"]
"""


def _groups(entry: Entry) -> set[str]:
    patterns = [
        p for clues in (entry.all, entry.any, entry.boost) for c in clues for p in c.patterns
    ]
    return {name for p in [*patterns, *entry.extract] for name in p.groupindex}


def test_the_data_files_ship_in_the_package() -> None:
    """The knowledge files are package resources (so hatch puts them in the wheel)."""
    folder = files("httpconflict.tools.diagnose").joinpath(ENTRIES)
    names = sorted(f.name for f in folder.iterdir() if f.name.endswith(".toml"))
    assert len(names) >= 10
    assert all("[[entry]]" in folder.joinpath(n).read_text(encoding="utf-8") for n in names[1:])


def test_files_share_their_pattern_lists() -> None:
    """An entry may name a pattern list of another file; a list named twice is refused."""
    patterns = "[patterns]\nword = ['needle']\n"
    knowledge = parse(patterns, ENTRY + "[entry.match]\nall = ['@word']\n")
    entry = knowledge.get("x")
    assert entry is not None
    assert entry.all[0].patterns[0].pattern == "needle"
    with pytest.raises(KnowledgeError, match="named twice"):
        parse(patterns, patterns)


def test_entries_come_in_tiers() -> None:
    """Specific entries, then generic ones (the message's words), then status fallbacks."""
    entries = knowledge_base().entries
    tiers = {e.id: e.tier for e in entries}
    assert tiers["docker-container-name-in-use"] == 0
    assert tiers["generic-already-exists"] == 1
    assert tiers["http-409-conflict"] == 2
    assert {e.tier for e in entries} == {0, 1, 2}


def test_every_problem_type_has_an_entry_made_from_it() -> None:
    """Each of _problem.PROBLEM_TYPES has an entry with its title, status, cause and fix."""
    knowledge = knowledge_base()
    for slug, problem_type in PROBLEM_TYPES.items():
        entry = knowledge.for_problem_type(slug)
        assert entry is not None, slug
        assert entry.id == OWN_PREFIX + slug
        assert (entry.title, entry.status, entry.cause) == (
            problem_type.title,
            problem_type.status,
            problem_type.cause,
        )
        assert " ".join(entry.steps) == " ".join(problem_type.fix.split())
        assert entry.problem_type_uri == problem_type.uri
        assert entry.references[0] == problem_type.uri


def test_entries_are_complete() -> None:
    """Ids are unique slugs; each entry has steps, https references, and clues."""
    entries = knowledge_base().entries
    ids = [e.id for e in entries]
    assert len(ids) == len(set(ids))
    for entry in entries:
        assert re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", entry.id), entry.id
        assert entry.steps, entry.id
        assert entry.references, entry.id
        assert all(url.startswith("https://") for url in entry.references), entry.id
        assert entry.all or entry.any, entry.id


def test_placeholders_name_details_an_entry_can_find() -> None:
    """Every {name} in an entry's texts is a group of its regexes, or the URL or status."""
    for entry in knowledge_base().entries:
        used = placeholders([entry.conflicted, entry.cause, *entry.steps])
        if entry.slug is None:
            assert used <= _groups(entry) | {"url", "status"}, entry.id


@pytest.mark.parametrize(
    ("template", "details", "expected"),
    [
        pytest.param("rm {name}", {"name": "web"}, "rm web", id="detail"),
        pytest.param("rm {name|NAME}", {}, "rm NAME", id="fallback"),
        pytest.param("rm {name}", {}, "rm <name>", id="no-fallback"),
        pytest.param("rm {name|NAME}", {"name": ""}, "rm NAME", id="empty-detail"),
        pytest.param(
            "'{{.State}}' {\"a\": 1}", {}, "'{{.State}}' {\"a\": 1}", id="not-a-placeholder"
        ),
    ],
)
def test_fill(template: str, details: dict[str, str], expected: str) -> None:
    """Placeholders take the detail, else their fallback, else <name>; other braces stay."""
    assert fill(template, details) == expected


def test_sentences() -> None:
    """A fix written as prose becomes one step per sentence."""
    assert sentences('Do this, e.g. {"a": 1}. Then `that`. Finally x.') == (
        'Do this, e.g. {"a": 1}.',
        "Then `that`.",
        "Finally x.",
    )


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        pytest.param(ENTRY + "[entry.match]\nall = ['@nope']\n", "no pattern list", id="alias"),
        pytest.param(ENTRY + "[entry.match]\nall = ['(']\n", "error", id="regex"),
        pytest.param(ENTRY, "requires nothing", id="no-clue"),
        pytest.param(
            ENTRY.replace('steps = ["s"]', "steps = []") + "[entry.match]\nall = ['x']\n",
            "no fix steps",
            id="no-steps",
        ),
        pytest.param(ENTRY + "[entry.match]\nsome = ['x']\n", "unknown match keys", id="key"),
        pytest.param(ENTRY + "[entry.match]\nall = [{colour = 'x'}]\n", "'colour'", id="clue"),
        pytest.param((ENTRY + "[entry.match]\nall = ['x']\n") * 2, "used twice", id="duplicate"),
        pytest.param(
            ENTRY + "fallback = true\ngeneric = true\n[entry.match]\nall = ['x']\n",
            "both fallback and generic",
            id="two-tiers",
        ),
    ],
)
def test_a_malformed_knowledge_base_is_refused(text: str, complaint: str) -> None:
    """Mistakes in the data file are refused when it is read, naming the entry."""
    with pytest.raises(KnowledgeError, match=complaint):
        parse(text)


def test_systems_leave_out_fallbacks() -> None:
    """What "not recognised" says it looked for names systems, not the fallbacks or generics."""
    systems = knowledge_base().systems
    assert "HTTP" not in systems
    assert "Any system" not in systems
    assert {"Docker", "Kubernetes", "PostgreSQL", "httpconflict"} <= set(systems)


def _every_pattern() -> list[re.Pattern[str]]:
    from httpconflict.tools.diagnose import evidence, statuses

    patterns = [
        *statuses._FORMS,
        *statuses._WITH_PHRASE,
        *(pattern for pattern, _ in statuses._STANDARD_TEXTS),
        *evidence._URL_FORMS,
    ]
    for entry in knowledge_base().entries:
        for clues in (entry.all, entry.any, entry.none, entry.boost):
            patterns.extend(p for clue in clues for p in clue.patterns)
        patterns.extend(entry.extract)
    return list(dict.fromkeys(patterns))


@pytest.mark.parametrize(
    "unit",
    [
        pytest.param("a", id="letters"),
        pytest.param("7", id="digits"),
        pytest.param("a.", id="dotted"),
        pytest.param('"a" ', id="quoted"),
        pytest.param("{", id="braces"),
        pytest.param("x: ", id="colons"),
        pytest.param("a/", id="slashes"),
        pytest.param("a-", id="dashes"),
    ],
)
def test_no_pattern_takes_quadratic_time(unit: str) -> None:
    """16 times the text takes no regex near 256 times as long (no quadratic backtracking).

    A ratio of the pattern's own times, not a deadline, and times of this
    thread's CPU, not of the clock: the machine's load (other test workers)
    cancels out. Linear searching is ~16x, quadratic ~256x; the bound
    (100x) leaves a linear pattern room for a busy machine's cache misses.
    """
    small = unit * (2_000 // len(unit))
    large = unit * (32_000 // len(unit))
    for pattern in _every_pattern():
        bound = 100 * max(_fastest(pattern, small), 0.001)
        ratio = _fastest(pattern, large, under=bound) / (bound / 100)
        assert ratio < 100, (pattern.pattern, ratio)


def _fastest(pattern: re.Pattern[str], text: str, under: float = 0.0) -> float:
    """The fastest of five searches of `text`, in seconds of this thread's CPU.

    With `under`, the first search faster than it is returned at once: the fastest
    of the five is below `under` all the same (the ratio's verdict is unchanged).
    """
    fastest = float("inf")
    for _ in range(5):
        started = time.thread_time()
        pattern.search(text)
        fastest = min(fastest, time.thread_time() - started)
        if fastest < under:
            break
    return fastest
