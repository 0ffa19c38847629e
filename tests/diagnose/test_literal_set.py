"""The literal prefilter: the strings found in one scan are those ``string in text`` finds,
one string at a time, on the corpus, on logs and hostile shapes, and on any text."""

from __future__ import annotations

import pytest
from bench.diagnose_logs import CORPUS, HOSTILE, hostile, realistic
from hypothesis import given
from hypothesis import strategies as st

from httpconflict.tools.diagnose import evidence
from httpconflict.tools.diagnose.knowledge import knowledge_base
from httpconflict.tools.diagnose.literal_set import REBUILD_AFTER, SMALL, LiteralSet
from httpconflict.tools.diagnose.literals import fold, known
from httpconflict.tools.diagnose.subject import Subject

CASES = sorted(p for p in CORPUS.iterdir() if p.name != "expectations.toml")


def _known(folded: bool) -> frozenset[str]:
    knowledge_base()  # its patterns' strings are known once it is read
    return known(folded)


def _assert_naive(text: str) -> None:
    """Every needed string, folded or not, is found as ``in`` finds it, by `LiteralSet`
    and by a `Subject` (which scans it once) of the text."""
    subject = Subject(text, small=0)
    for folded, haystack in ((False, text), (True, fold(text))):
        strings = _known(folded)
        naive = frozenset(s for s in strings if s in haystack)
        assert LiteralSet(strings).found_in(haystack) == naive
        assert {s for s in strings if subject._holds_string(s, folded)} == naive


def test_the_known_strings_are_the_knowledge_base_s() -> None:
    """The knowledge base's patterns need about a thousand strings: all are known."""
    assert len(_known(False)) + len(_known(True)) >= 1_000


def test_the_same_strings_on_every_corpus_case() -> None:
    """On each corpus case (as read: cleaned), the prefilter says what ``in`` says."""
    for path in CASES:
        _assert_naive(evidence._clean(path.read_text(encoding="utf-8")))


def test_the_same_strings_on_the_whole_corpus_in_one_text() -> None:
    """All the corpus in one text (each string found anywhere in it, many at once)."""
    _assert_naive("\n".join(evidence._clean(p.read_text(encoding="utf-8")) for p in CASES))


def test_the_same_strings_on_a_log_with_messages() -> None:
    """On a log of 300 KB with 20 corpus messages (long enough to be read as its distinct
    lines), and on the text diagnose matches (the log, then its JSON flattened)."""
    text = realistic(300_000, messages=20, seed=5)
    assert len(text) > SMALL
    _assert_naive(evidence._clean(text))
    _assert_naive(evidence.read(text).text)


def test_digits_are_told_apart() -> None:
    """Lines are compared with their digits made 0, but a string with a digit (a "0" too) is
    found only where the text has that digit."""
    strings = ["409", "a0b", "E11000", "sqlstate 23505", "code e409", *"vwxyz"]
    lines = "".join(f"{n} 407 a7b E11999 sqlstate 23503 code e408 409x\n" for n in range(9999))
    text = lines + "end E11000"
    assert len(text) > SMALL
    assert LiteralSet(strings).found_in(text) == {"409", "E11000", "x"}


@pytest.mark.parametrize("shape", ["spaces", "'409 '", "a=a=a=", "JSON status members"])
def test_the_same_strings_on_hostile_shapes(shape: str) -> None:
    """A unit repeated (a string matched at every few characters), then many words."""
    message = (CORPUS / "psycopg2-unique.txt").read_text(encoding="utf-8")
    _assert_naive(evidence._clean(hostile(HOSTILE[shape], 50_000, message)))


def test_strings_repeated_past_the_rebuild_are_all_found() -> None:
    """A string matched more often than `REBUILD_AFTER` (the regex is rebuilt without it),
    then strings that start inside it or hold it, and one at the very end."""
    strings = ["409 ", "09 C", "409 Conflict", "Conf", "flict!", "end", "x409", "zz", "zzz"]
    text = "409 " * (3 * REBUILD_AFTER) + "409 Conflict!" + "a" * 100 + "end"
    assert LiteralSet(strings).found_in(text) == {s for s in strings if s in text}


@given(
    st.lists(st.text("abc\n", min_size=1, max_size=5), max_size=20),
    st.text("abc\n", max_size=300),
)
def test_any_strings_in_any_text(strings: list[str], text: str) -> None:
    """Strings of three letters (prefixes of each other, overlapping, one inside another)
    are found as ``in`` finds them."""
    assert LiteralSet(strings).found_in(text) == {s for s in strings if s in text}


def test_regex_characters_are_literal() -> None:
    """A string's ``.``, ``(``, ``\\`` and ``|`` are themselves, not regex syntax."""
    strings = ["a.b", "(x)", "c\\d", "e|f", "[g]", "h*", "i?", "^j", "k$", "{1}"]
    text = "axb x c\\d e|f [g] hh i ^j k$ {1}"
    assert LiteralSet(strings).found_in(text) == {"c\\d", "e|f", "[g]", "^j", "k$", "{1}"}
