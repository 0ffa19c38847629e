"""The PostgreSQL feed's watermark, stepped by hand: (snapshot, rows) in, resolved changes out."""

from __future__ import annotations

from httpconflict.storage import Change
from httpconflict.storage._changes import Snapshot, SnapshotWatermark


def rows(*seqs: int) -> list[Change]:
    return [Change(seq, "c", f"d{seq}", 1, "e", 0) for seq in seqs]


def snap(*running: int) -> Snapshot:
    return Snapshot(100, 200, frozenset(running))


def started(latest: int = 10) -> SnapshotWatermark:
    state = SnapshotWatermark()
    state.start(snap(), latest)
    assert state.advance(snap(), []) == []
    assert state.watermark == latest
    return state


def test_the_start_waits_for_the_transactions_running_then() -> None:
    """W is the first read's largest seq once no transaction running then still runs."""
    state = SnapshotWatermark()
    state.start(snap(150), 10)
    assert state.advance(snap(150), rows(11)) == []
    assert state.watermark is None
    assert state.reads_after == 10
    assert [c.seq for c in state.advance(snap(), rows(11))] == [11]
    assert state.watermark == 11


def test_rows_in_order_advance_the_watermark() -> None:
    """Consecutive seqs are delivered as read."""
    state = started()
    assert [c.seq for c in state.advance(snap(), rows(11, 12, 13))] == [11, 12, 13]
    assert state.watermark == 13


def test_a_gap_held_by_a_running_transaction_stops_the_feed() -> None:
    """A missing seq below a visible one waits while a suspect runs, then is delivered."""
    state = started()
    assert [c.seq for c in state.advance(snap(150), rows(11, 13))] == [11]
    assert state.advance(snap(150), rows(13)) == []  # still running
    assert [c.seq for c in state.advance(snap(), rows(12, 13))] == [12, 13]  # it committed


def test_a_gap_whose_suspects_ended_is_skipped() -> None:
    """Absent in a snapshot where none of its suspects runs: it will never commit."""
    state = started()
    assert [c.seq for c in state.advance(snap(150, 160), rows(11, 13))] == [11]
    assert state.advance(snap(160), rows(13)) == []
    assert [c.seq for c in state.advance(snap(170), rows(13))] == [13]  # 170 began later


def test_a_gap_in_a_snapshot_with_nothing_running_is_skipped_at_once() -> None:
    """No transaction running when the gap was first seen: its holder had aborted already."""
    state = started()
    assert [c.seq for c in state.advance(snap(), rows(12, 15))] == [12, 15]
    assert state.watermark == 15


def test_narrowing_drops_transactions_that_hold_no_lock_on_the_table() -> None:
    """A long unrelated transaction stops being a suspect once the locks are read."""
    state = started()
    assert [c.seq for c in state.advance(snap(150), rows(11, 13))] == [11]
    assert state.to_narrow
    state.narrow(frozenset())  # 150 holds no lock on the changes table
    assert not state.to_narrow
    assert [c.seq for c in state.advance(snap(150), rows(13))] == [13]


def test_suspects_of_later_gaps_are_their_own() -> None:
    """A gap first seen later is judged by the snapshot that first showed it."""
    state = started()
    assert [c.seq for c in state.advance(snap(150), rows(12))] == []  # gap 11, suspect 150
    assert [c.seq for c in state.advance(snap(150, 160), rows(11, 12, 14))] == [11, 12]
    # Gap 13 was first seen with 150 and 160 running; 150 ends, 160 still runs.
    assert state.advance(snap(160), rows(14)) == []
    assert [c.seq for c in state.advance(snap(), rows(14))] == [14]
    # 2**32 + 150 is the 64-bit form of the 32-bit xid 150 pg_locks shows.
    state = started()
    state.advance(Snapshot(100, 2**33, frozenset({2**32 + 150})), rows(12))
    state.narrow(frozenset({150}))
    assert state.advance(Snapshot(100, 2**33, frozenset({2**32 + 150})), rows(12)) == []
