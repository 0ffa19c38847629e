"""`Subject` finds what `re` finds: every pattern diagnose runs, on the corpus and on logs,
searched where its literals are gives the same matches as searched everywhere."""

from __future__ import annotations

import re
import sys
import tracemalloc

import pytest
from bench.diagnose_logs import CORPUS, HOSTILE, hostile, realistic

from httpconflict.tools.diagnose import evidence, statuses
from httpconflict.tools.diagnose.knowledge import knowledge_base
from httpconflict.tools.diagnose.literals import FOLD_PIECE, fold, needs
from httpconflict.tools.diagnose.subject import Subject


def _patterns() -> list[re.Pattern[str]]:
    found: dict[str, re.Pattern[str]] = {}
    for entry in knowledge_base().entries:
        for clue in (*entry.all, *entry.any, *entry.none, *entry.boost):
            for pattern in clue.patterns:
                found.setdefault(pattern.pattern, pattern)
        for pattern in entry.extract:
            found.setdefault(pattern.pattern, pattern)
    modules = [*statuses._FORMS, *statuses._WITH_PHRASE, *evidence._URL_FORMS]
    modules += [evidence._STATUS_LINE, evidence._JAVA_FRAME, evidence._JAVASCRIPT_FRAME]
    for pattern in modules:
        found.setdefault(pattern.pattern, pattern)
    return list(found.values())


PATTERNS = _patterns()


def _spans(matches: object) -> list[tuple[tuple[int, int], dict[str, str | None]]]:
    return [(m.span(), m.groupdict()) for m in matches]  # type: ignore[attr-defined]


def _assert_same(text: str) -> None:
    subject = Subject(text, small=0)
    for pattern in PATTERNS:
        # One whole-text scan per pattern: `re`'s search is the first match its finditer
        # yields (both scan from position 0), so both are compared against this one list.
        matches = list(pattern.finditer(text))
        expected = matches[0] if matches else None
        found = subject.search(pattern)
        assert (found and (found.span(), found.groupdict())) == (
            expected and (expected.span(), expected.groupdict())
        ), pattern.pattern
        assert _spans(subject.finditer(pattern)) == _spans(matches), pattern.pattern


def test_most_patterns_need_a_literal() -> None:
    """The analysis finds a needed literal for most patterns (else nothing would be skipped)."""
    with_needs = [p for p in PATTERNS if needs(p).strings]
    assert len(with_needs) >= 0.9 * len(PATTERNS)


def test_the_same_matches_on_every_corpus_case() -> None:
    """On each case of the corpus, as whole-text `re` (the corpus's answers cannot change)."""
    for path in sorted(CORPUS.iterdir()):
        _assert_same(evidence._clean(path.read_text(encoding="utf-8")))


@pytest.mark.slow
def test_the_same_matches_on_a_log_with_messages() -> None:
    """On a log of 200 KB with 40 corpus messages in it."""
    _assert_same(evidence._clean(realistic(200_000, messages=40, seed=3)))


@pytest.mark.parametrize("shape", ["newlines", "spaces", "CR only", "one long line"])
def test_the_same_matches_on_hostile_shapes(shape: str) -> None:
    """On a run of a hostile shape followed by the words of many patterns."""
    message = (CORPUS / "terraform-011-lease-already-present.txt").read_text(encoding="utf-8")
    _assert_same(evidence._clean(hostile(HOSTILE[shape], 5_000, message)))


def test_fold_lowers_what_ignorecase_equates_with_a_letter() -> None:
    """Every character `re.IGNORECASE` takes for an ASCII letter folds to it, in its place."""
    letter = re.compile("[a-z]", re.IGNORECASE)
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        if letter.fullmatch(char):
            folded = fold(char)
            assert len(folded) == 1
            assert re.fullmatch(folded, char, re.IGNORECASE), hex(code)
            assert folded.isascii(), hex(code)


def test_fold_in_pieces_is_fold_of_the_whole() -> None:
    """A long text that is not ASCII is lowered a piece at a time, with the same result as
    lowering it whole: a final sigma at a line's end, İ, ſ and K (Kelvin) on both sides of
    each piece's end."""
    line = "ΣΑΣ ΟΔΟΣ\nİſ \u212a Straße ΣΑΣ.\nplain ascii line of text\n"
    text = line * (2 * FOLD_PIECE // len(line) + 3)
    whole = text
    for special, letter in {"\u0130": "i", "\u0131": "i", "\u017f": "s"}.items():
        whole = whole.replace(special, letter)
    assert fold(text) == whole.lower()
    assert fold("ASCII Only") == "ascii only"


def test_fold_of_a_long_text_that_is_not_ascii_takes_little_memory() -> None:
    """Lowering 1.8 million characters with a typographic quote on each line takes under
    8 bytes a character at its peak (`str.lower` of the whole took 14)."""
    text = "a line of a log, \u2019quoted\u2019 and na\u00efve\n" * 50_000
    assert len(text) > 1_500_000
    tracemalloc.start()
    try:
        folded = fold(text)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert folded == text.lower()
    assert peak < 8 * len(text)
