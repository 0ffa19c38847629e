"""The PostgreSQL feed's watermark, stepped by hand: (snapshot, rows) in, resolved changes out.

Snapshots are ``Snapshot(xmin, xmax, xip)``: a transaction runs in one if it is
in xip or at or above xmax. A gap (and the start) is judged only once the
transactions locking the changes table were read after the snapshot that
showed it (`narrow`, 32-bit xids as pg_locks gives them).
"""

from __future__ import annotations

from httpconflict.storage import Change
from httpconflict.storage._changes import Snapshot, SnapshotWatermark


def rows(*seqs: int) -> list[Change]:
    return [Change(seq, "c", f"d{seq}", 1, "e", 0) for seq in seqs]


def snap(*running: int, xmax: int = 200) -> Snapshot:
    return Snapshot(100, xmax, frozenset(running))


def started(latest: int = 10) -> SnapshotWatermark:
    state = SnapshotWatermark()
    state.start(snap(), latest)
    assert state.advance(snap(), []) == []  # not before the locks were read
    state.narrow(frozenset())
    assert state.advance(snap(), []) == []
    assert state.watermark == latest
    return state


def test_the_start_waits_for_the_transactions_locking_the_table() -> None:
    """W is the first read's largest seq once no transaction locking the table then still runs."""
    state = SnapshotWatermark()
    state.start(snap(150), 10)
    assert state.to_narrow
    state.narrow(frozenset({150, 160}))
    assert state.advance(snap(150, 160), rows(11)) == []
    assert state.watermark is None
    assert state.reads_after == 10
    assert state.advance(snap(160), rows(11)) == []  # 150 ended, 160 still runs
    assert [c.seq for c in state.advance(snap(), rows(11))] == [11]
    assert state.watermark == 11


def test_rows_in_order_advance_the_watermark() -> None:
    """Consecutive seqs are delivered as read, with no gap to wait for."""
    state = started()
    assert [c.seq for c in state.advance(snap(), rows(11, 12, 13))] == [11, 12, 13]
    assert state.watermark == 13
    assert not state.to_narrow


def test_a_gap_waits_for_the_locks_even_with_nothing_running_in_the_snapshot() -> None:
    """An empty xip proves nothing: the holder may be above xmax. Judged after the locks."""
    state = started()
    assert [c.seq for c in state.advance(snap(), rows(11, 12, 15))] == [11, 12]
    assert state.to_narrow
    state.narrow(frozenset())
    assert [c.seq for c in state.advance(snap(), rows(15))] == [15]


def test_a_holder_above_xmax_is_waited_for() -> None:
    """The writer of seq 13 took its xid (250) after the writer of 14 (190) committed it:
    absent from xip, it is found among the lockers and waited for until it ends."""
    state = started()
    assert [c.seq for c in state.advance(snap(xmax=191), rows(11, 12, 14))] == [11, 12]
    state.narrow(frozenset({250}))
    assert state.advance(snap(xmax=191), rows(14)) == []
    assert state.advance(snap(xmax=240), rows(14)) == []
    assert [c.seq for c in state.advance(snap(xmax=251), rows(13, 14))] == [13, 14]


def test_a_gap_held_by_a_running_transaction_stops_the_feed() -> None:
    """A missing seq below a visible one waits while a suspect runs, then is delivered."""
    state = started()
    assert [c.seq for c in state.advance(snap(150), rows(11, 13))] == [11]
    state.narrow(frozenset({150}))
    assert state.advance(snap(150), rows(13)) == []  # still running
    assert [c.seq for c in state.advance(snap(), rows(12, 13))] == [12, 13]  # it committed


def test_a_gap_whose_suspects_ended_is_skipped() -> None:
    """Absent in a snapshot where none of its suspects runs: it will never commit."""
    state = started()
    assert [c.seq for c in state.advance(snap(150, 160), rows(11, 13))] == [11]
    state.narrow(frozenset({150, 160}))
    assert state.advance(snap(160), rows(13)) == []
    assert [c.seq for c in state.advance(snap(170), rows(13))] == [13]  # 170 holds no lock


def test_narrowing_drops_transactions_that_hold_no_lock_on_the_table() -> None:
    """A long unrelated transaction is no suspect: only lockers of the changes table are."""
    state = started()
    assert [c.seq for c in state.advance(snap(150), rows(11, 13))] == [11]
    assert state.to_narrow
    state.narrow(frozenset())  # 150 holds no lock on the changes table
    assert not state.to_narrow
    assert [c.seq for c in state.advance(snap(150), rows(13))] == [13]


def test_suspects_of_later_gaps_are_their_own() -> None:
    """A gap first seen later waits for its own narrowing, and is judged by its own lockers."""
    state = started()
    assert state.advance(snap(150), rows(12)) == []  # gap 11
    state.narrow(frozenset({150}))
    assert [c.seq for c in state.advance(snap(), rows(11, 12, 14))] == [11, 12]  # gap 13
    assert state.advance(snap(), rows(14)) == []  # not narrowed yet
    state.narrow(frozenset({160}))
    assert state.advance(snap(160), rows(14)) == []
    assert [c.seq for c in state.advance(snap(), rows(14))] == [14]


def test_32_bit_lockers_are_widened_around_the_snapshots_xmax() -> None:
    """pg_locks shows 32-bit xids; snapshots 64-bit ones, also across a wraparound."""
    high, xmax = 2**32 + 150, 2**32 + 200
    state = started()
    state.advance(Snapshot(100, xmax, frozenset({high})), rows(12))
    state.narrow(frozenset({150}))
    assert state.advance(Snapshot(100, xmax, frozenset({high})), rows(12)) == []
    assert [c.seq for c in state.advance(Snapshot(100, xmax, frozenset()), rows(12))] == [12]
    edge = Snapshot(2**32 - 5, 2**32 + 3, frozenset())
    assert edge.widen(2**32 - 2) == 2**32 - 2  # just below the wrap, running
    assert edge.widen(10) == 2**32 + 10  # above xmax, after the wrap
    assert edge.running(edge.widen(10))
    assert not edge.running(edge.widen(1))
