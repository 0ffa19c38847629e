"""Counting lost updates exactly, from the writers' tallies and the final state."""

from __future__ import annotations

import pytest

from httpconflict.tools.audit.race_tally import WriterTally, measure, next_state, per_writer

COUNTER = "n"
MARKS = "marks"


def test_next_state_increments_and_appends() -> None:
    """A read-modify-write adds one to the counter and its id to the markers."""
    assert next_state({"n": 2, MARKS: ["w0.0", "w1.0"], "x": 1}, COUNTER, MARKS, "w0.1") == {
        "n": 3,
        MARKS: ["w0.0", "w1.0", "w0.1"],
    }


def test_next_state_without_markers_changes_the_counter_only() -> None:
    """An API that dropped the marker list still gets the counter raced."""
    assert next_state({"n": 0}, COUNTER, MARKS, "w0.0") == {"n": 1}


@pytest.mark.parametrize("value", [None, "1", 1.5, True], ids=["absent", "text", "float", "bool"])
def test_next_state_needs_a_whole_number(value: object) -> None:
    """Without a whole-number counter there is nothing to increment."""
    with pytest.raises(ValueError, match="whole-number"):
        next_state({"n": value}, COUNTER, MARKS, "w0.0")


def tally(writer: int, acknowledged: list[str], refused: int = 0) -> WriterTally:
    return WriterTally(writer, acknowledged=acknowledged, refused=refused)


def test_nothing_lost_when_the_chain_holds_every_acknowledged_write() -> None:
    """Four acknowledged writes, counter 4, all marked: zero lost by both measures."""
    outcome = measure(
        [tally(0, ["w0.0", "w0.2"], refused=1), tally(1, ["w1.1", "w1.2"], refused=1)],
        0,
        {"n": 4, MARKS: ["w0.0", "w1.1", "w0.2", "w1.2"]},
        COUNTER,
        MARKS,
    )
    assert (outcome.acknowledged, outcome.refused, outcome.lost) == (4, 2, 0)
    assert outcome.lost_by_marks == 0
    assert outcome.agrees is True


def test_lost_writes_are_counted_per_writer() -> None:
    """Five acknowledged, counter 2: three lost, and the markers say whose."""
    outcome = measure(
        [tally(0, ["w0.0", "w0.1", "w0.2"]), tally(1, ["w1.0", "w1.1"])],
        0,
        {"n": 2, MARKS: ["w1.0", "w0.2"]},
        COUNTER,
        MARKS,
    )
    assert outcome.lost == 3
    assert outcome.lost_by_marks == 3
    assert [w.lost for w in outcome.writers] == [2, 1]
    assert per_writer(outcome.writers) == "w0 3/1, w1 2/1"


def test_a_write_that_landed_unacknowledged_is_told_apart() -> None:
    """A timed-out write that landed: the markers name it, the two measures differ by it."""
    outcome = measure(
        [tally(0, ["w0.0", "w0.1"]), WriterTally(1, unanswered=["w1.0"])],
        0,
        {"n": 2, MARKS: ["w1.0", "w0.1"]},
        COUNTER,
        MARKS,
    )
    assert outcome.unacknowledged == ("w1.0",)
    assert outcome.lost == 0  # two acknowledged, counter 2...
    assert outcome.lost_by_marks == 1  # ...but w0.0 is gone, and w1.0 took its place


def test_without_markers_only_the_counter_measures() -> None:
    """The API dropped the marker list: lost by counter only, agreement unknown."""
    outcome = measure([tally(0, ["w0.0", "w0.1"])], 0, {"n": 1}, COUNTER, MARKS)
    assert outcome.lost == 1
    assert outcome.lost_by_marks is None
    assert outcome.agrees is None
    assert per_writer(outcome.writers) == "w0 2/?"
