"""Counting lost updates of a pure counter exactly, from the tallies and the final state."""

from __future__ import annotations

import pytest

from httpconflict.tools.audit.race_tally import WriterTally, measure, next_count, per_writer

COUNTER = "n"


def test_next_count_is_the_count_read_plus_one() -> None:
    """A read-modify-write writes the count it read plus one, whatever else the resource holds."""
    assert next_count({"n": 2, "x": 1}, COUNTER) == 3


def test_a_count_in_a_string_stays_a_string() -> None:
    """A counter kept in a string field ("1") is counted in a string: "2"."""
    assert next_count({"n": "1"}, COUNTER) == "2"


@pytest.mark.parametrize(
    ("value", "written"),
    [
        pytest.param(2.0, 3.0, id="float"),
        pytest.param("2.00", "3.00", id="decimal-string"),
        pytest.param("2.", "3.", id="point-only"),
    ],
)
def test_a_whole_decimal_counts_and_is_written_alike(value: object, written: object) -> None:
    """A whole number the API writes back as a decimal (marshmallow's 0.0, DRF's "0.00")
    counts, and the next count is written the same way."""
    assert next_count({"n": value}, COUNTER) == written
    assert type(next_count({"n": value}, COUNTER)) is type(written)


@pytest.mark.parametrize(
    "value",
    [None, "one", "-1", 1.5, True, "1.50", ".0", float("inf"), float("nan")],
    ids=["absent", "text", "signed", "float", "bool", "fraction", "no-whole", "inf", "nan"],
)
def test_next_count_needs_a_whole_number(value: object) -> None:
    """Without a whole-number counter there is nothing to increment."""
    with pytest.raises(ValueError, match="whole-number"):
        next_count({"n": value}, COUNTER)


def tally(writer: int, acknowledged: int, refused: int = 0, unanswered: int = 0) -> WriterTally:
    return WriterTally(writer, acknowledged=acknowledged, refused=refused, unanswered=unanswered)


def test_nothing_lost_when_the_counter_moved_once_per_acknowledged_write() -> None:
    """Four acknowledged writes, counter 0 -> 4: zero lost."""
    outcome = measure([tally(0, 2, refused=1), tally(1, 2, refused=1)], 0, {"n": 4}, COUNTER)
    assert (outcome.acknowledged, outcome.refused, outcome.lost, outcome.unexplained) == (
        4,
        2,
        0,
        0,
    )


def test_identical_acknowledged_writes_that_moved_the_counter_once_are_lost() -> None:
    """Five acknowledged, counter 2: three lost, with no writer id needed to see it."""
    outcome = measure([tally(0, 3), tally(1, 2)], 0, {"n": 2}, COUNTER)
    assert outcome.lost == 3
    assert per_writer(outcome.writers) == [
        {"writer": 0, "acknowledged": 3, "refused": 0, "server_errors": 0},
        {"writer": 1, "acknowledged": 2, "refused": 0, "server_errors": 0},
    ]


def test_an_unanswered_write_may_explain_an_extra_increment() -> None:
    """Two acknowledged and one unanswered, counter 3: nothing lost, nothing unexplained."""
    outcome = measure([tally(0, 2), tally(1, 0, unanswered=1)], 0, {"n": 3}, COUNTER)
    assert (outcome.lost, outcome.unexplained) == (0, 0)
    more = measure([tally(0, 2)], 0, {"n": 3}, COUNTER)
    assert more.unexplained == 1


def test_server_errors_are_counted_by_reads_and_writes() -> None:
    """5xx answers to reads and to writes are both counted, apart."""
    writer = WriterTally(0, acknowledged=1, writes=4, write_errors=3, reads=5, read_errors=1)
    outcome = measure([writer], 0, {"n": 1}, COUNTER)
    assert outcome.server_errors == 4
    assert (outcome.total("write_errors"), outcome.total("writes")) == (3, 4)


def test_repeated_answer_etags_are_counted() -> None:
    """Two acknowledged answers with one ETag: one success too many for one version."""
    first = WriterTally(0, acknowledged=2, answer_etags=['"a"', '"b"'])
    second = WriterTally(1, acknowledged=2, answer_etags=['"b"', None])
    assert measure([first, second], 0, {"n": 3}, COUNTER).repeated_etags == 1
