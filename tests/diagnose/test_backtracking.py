"""No regex of diagnose backtracks on a long run after its own words.

Each regex diagnose runs (every clue and extract of the knowledge base, every status form,
the unwrapping of pasted lines) is given the literals it needs, then a run of 20,000 spaces,
letters, quotes or UTF-8 read as Latin-1 ("Ã³"), and must answer in well under a second.
Two written ``\\s*:?\\s*`` (a run of spaces shared between two stars) took 8 s at 20 KB
and minutes at 100 KB: "status code" or Hibernate's "unsaved-value mapping was incorrect)"
followed by a wide padded column hung the tool.
"""

from __future__ import annotations

import re
import time

import pytest
from bench.diagnose_logs import corpus_message

from httpconflict.tools.diagnose import plain, statuses
from httpconflict.tools.diagnose.knowledge import knowledge_base
from httpconflict.tools.diagnose.literals import needs
from httpconflict.tools.diagnose.matching import diagnose

RUN = 20_000
RUNS = (" ", "a", '"', '\\"', ", a", "Ã³", "Ã")
#: Far above a linear regex's time on 20 KB (under 10 ms), far below a quadratic one's (8 s).
SLOW = 1.0


def _patterns() -> list[re.Pattern[str]]:
    found: set[re.Pattern[str]] = set()
    for entry in knowledge_base().entries:
        found.update(entry.patterns)
    found.update(statuses._FORMS)
    found.update(statuses._WITH_PHRASE)
    found.update(statuses._CODES_IN_BRACKETS)
    found.update(pattern for pattern, _ in statuses._STANDARD_TEXTS)
    found.update((plain._WRAPPED, plain._MOJIBAKE_RUN))
    return sorted(found, key=lambda pattern: pattern.pattern)


def test_no_regex_backtracks_on_a_run_after_its_words() -> None:
    """Every regex, on its own literals followed by 20 KB of one character, is fast."""
    slow = []
    for pattern in _patterns():
        words = " ".join(sorted(needs(pattern).strings, key=len, reverse=True)[:4])
        for run in RUNS:
            text = words + " " + run * (RUN // len(run))
            start = time.perf_counter()
            pattern.search(text)
            took = time.perf_counter() - start
            if took > SLOW:
                slow.append(f"{took:.1f} s on {run!r}: {pattern.pattern}")
    assert slow == []


MESSAGE = corpus_message("psycopg2-unique.txt")


@pytest.mark.parametrize(
    "text",
    [
        # A padded column after the words: 100 KB of spaces.
        pytest.param("ERROR status code" + " " * 100_000 + "x", id="status-code"),
        pytest.param(
            "org.hibernate.StaleObjectStateException: Row was updated or deleted by another "
            "transaction (or unsaved-value mapping was incorrect)" + " " * 100_000 + "x",
            id="hibernate-unsaved-value",
        ),
        # A 100 KB line repeating an opening that never closes: an unbounded capture was
        # scanned to the line's end from each of them (27 s; the line limit is 1 MB).
        pytest.param("Duplicate entry 'a" * 5_500, id="mysql-value"),
        pytest.param("ORA-00001: unique constraint (a" * 3_200, id="oracle-constraint"),
        pytest.param("A yanked version already exists (a" * 2_900, id="rubygems-file"),
        pytest.param("Compare failed (a" * 5_800, id="etcd-cause"),
        pytest.param("refer cancellation reasons for specific reasons [a" * 2_000, id="dynamo"),
    ],
)
def test_a_hostile_line_before_a_message_is_read_in_seconds(text: str) -> None:
    """A 100 KB line built against one regex, then a message: diagnosed in seconds (these
    took from 27 s to minutes before), and the message is still found."""
    start = time.perf_counter()
    best = diagnose(text + "\n" + MESSAGE).best
    assert time.perf_counter() - start < 10
    assert best is not None
