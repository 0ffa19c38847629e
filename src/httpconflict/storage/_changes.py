"""The change feed's records, and how a reader knows which changes are final.

Every document write (create, replace, patch, delete, purge, erase) appends
a row to the ``changes`` table in its own transaction: the document's
collection, id and new version, its entity-tag (NULL: deleted), its time
and whether its history was purged, under ``seq``, one integer sequence
for the whole database.

A reader keeps a watermark W: every seq <= W is resolved, that is either
committed and readable or known never to commit. Changes at or below W can
be read from the table at any time and the answer is final; a change above
it may still be missing. How W advances depends on the database:

- SQLite has one writer at a time, so seqs commit in their order and every
  row a reader sees is below every row still to come: W is the largest seq
  seen (`RowidWatermark`).
- PostgreSQL commits concurrent transactions in any order, so a reader may
  see seq 7 while seq 6 is still to commit: `SnapshotWatermark` below
  decides, from each read's snapshot, when a missing seq is permanent.

The retention purge deletes the oldest changes and records the largest seq
it deleted, the horizon: a reader asking for changes after a seq below it
has lost some (410), one after the horizon has lost none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol


class Change(NamedTuple):
    """One row of the change feed; `etag` None: the document was deleted (or purged).

    `purged`: the document's history went with it (``DELETE ?purge=true``, or
    a purge of a document deleted before, which changes nothing else).
    """

    seq: int
    collection: str
    id: str
    version: int
    etag: str | None
    modified_us: int
    purged: bool = False


class ChangeBounds(NamedTuple):
    """What a `since` may be: at least `horizon`, at most `latest` (the largest seq committed)."""

    horizon: int
    latest: int


class ChangesRead(NamedTuple):
    """A page of one collection's changes, and the horizon in the same snapshot."""

    changes: list[Change]
    horizon: int


class ChangeFeed(Protocol):
    """A reader of the whole database's changes, in seq order, each once."""

    @property
    def watermark(self) -> int | None:
        """Every seq at or below it is resolved; None until the first poll that could tell."""

    async def poll(self, limit: int) -> list[Change]:
        """The changes resolved since the last poll (at most `limit`), in seq order.

        Raises what the store raises when the database cannot be read; the
        watermark is then unchanged and the next poll carries on.
        """


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A PostgreSQL snapshot (``pg_current_snapshot()``): which transactions it sees as running.

    Text form ``xmin:xmax:xip,xip,...`` (PostgreSQL's pg_snapshot output).
    `xmax` is one more than the newest xid that had *completed* when the
    snapshot was taken, not the next xid to be handed out: a transaction
    running then with an xid at or above it is left out of `xip`. So a
    transaction is running in the snapshot if it is in `xip` or at or
    above `xmax` (`running`); only below `xmax` and out of `xip` has it ended.
    """

    xmin: int
    xmax: int
    xip: frozenset[int]

    @classmethod
    def parse(cls, text: str) -> Snapshot:
        xmin, xmax, xip = text.split(":")
        return cls(int(xmin), int(xmax), frozenset(int(x) for x in xip.split(",") if x))

    def running(self, xid: int) -> bool:
        """Whether the transaction `xid` (64-bit) had not ended when the snapshot was taken."""
        return xid >= self.xmax or xid in self.xip

    def widen(self, xid32: int) -> int:
        """The 64-bit xid whose low 32 bits are `xid32` (as pg_locks shows it) nearest `xmax`."""
        ahead = (xid32 - self.xmax) % 2**32
        return self.xmax + ahead - (2**32 if ahead >= 2**31 else 0)


@dataclass(slots=True)
class _Gap:
    """Missing seqs first..last, as first shown by `seen`; who may still fill them, once known.

    `suspects` is None until `narrow` has read, after `seen`, the transactions
    holding a lock on the changes table: until then the gap is never skipped.
    """

    first: int
    last: int
    seen: Snapshot
    suspects: frozenset[int] | None = None


@dataclass(slots=True)
class SnapshotWatermark:
    """The watermark of a PostgreSQL change table, advanced by (snapshot, rows) reads.

    Writers take ``nextval`` in the statement that writes the document, AFTER
    the document row is written (the changes INSERT reads FROM the
    statement's ``written`` CTE), and that statement locks the changes table
    before it runs (PostgreSQL locks every table a statement names first),
    so a writer holds the lock, and its transaction id, before it holds its
    seq, and keeps both until it ends. Each read is ONE statement returning
    its own snapshot and the rows above W in seq order.

    Claim: if a read in snapshot S shows seq s and not seq g < s, every
    transaction that may still commit a row g held a lock on the changes
    table when S was taken, and holds it until it ends. Proof: sequence
    values are handed out in increasing order, so g's holder called nextval
    before s's holder did; s is visible in S, so s's holder committed before
    S was taken; hence g's holder called nextval, and so took the lock,
    before S was taken. If it has ended by S, it committed (and its row g,
    inserted by the statement that took the seq, would be visible in S: a
    statement is atomic) or it aborted, and g is permanent (or the row was
    purged since: the purge deletes only resolved seqs, `PurgeFence`, so
    only a reader that fell behind the purge sees that, and the pump then
    sends its watchers to the database and the 410). If
    nobody holds g (the sequence skipped values, as after a crash) there
    is nothing to wait for.

    So once the gap is seen, the transactions holding a lock on the changes
    table (pg_locks, read AFTER S: `narrow`) are its suspects: g's holder,
    if it still runs, is among them. (S's own xip list cannot name them:
    PostgreSQL leaves out of it a running transaction whose xid is above
    the newest completed one, and g's holder may have taken its xid after
    s's holder took its own.) Once a snapshot taken after that read shows
    none of them running (`Snapshot.running`) and the row still absent (both
    in that one statement), no transaction can ever commit it: the gap is
    permanent and W moves past it. Until then W stops at the gap, and
    nothing above it is delivered. The same holds at the start, where W is
    unknown: the first read's largest seq M is W as soon as a snapshot
    taken after the locks were read shows none of their holders running;
    by then every seq <= M committed or never will.

    A transaction that wrote a document and stays open therefore holds the
    feed (of every collection) until it ends: the price of commit order.
    The service's own writes are single statements. A long transaction
    that never touches the changes table holds nothing.
    """

    _watermark: int | None = None
    #: Until W is known: the first read's largest seq, as a gap to resolve.
    _start: _Gap | None = None
    _gaps: list[_Gap] = field(default_factory=list)

    @property
    def watermark(self) -> int | None:
        return self._watermark

    @property
    def reads_after(self) -> int:
        """The seq the next read starts after: W, or until it is known the first read's largest."""
        if self._watermark is not None:
            return self._watermark
        if self._start is None:
            raise RuntimeError("start() comes first")
        return self._start.last

    def start(self, snapshot: Snapshot, latest: int) -> None:
        """The first read: its snapshot and the largest seq it saw (or the horizon if none)."""
        self._start = _Gap(0, latest, snapshot)

    @property
    def to_narrow(self) -> bool:
        """Whether a gap (or the start) waits for the locks to be read before it can be judged."""
        return any(gap.suspects is None for gap in self._pending())

    def narrow(self, lockers: frozenset[int]) -> None:
        """Take as suspects of each gap not yet narrowed the transactions locking the changes table.

        `lockers`: their 32-bit xids (pg_locks), read after every snapshot
        that showed a gap not yet narrowed.
        """
        for gap in self._pending():
            if gap.suspects is None:
                gap.suspects = frozenset(gap.seen.widen(x) for x in lockers)

    def _pending(self) -> list[_Gap]:
        return [*self._gaps, *([self._start] if self._start else [])]

    def advance(self, snapshot: Snapshot, rows: Sequence[Change]) -> list[Change]:
        """The changes resolved by a read of the rows above W (in seq order) in `snapshot`."""
        if self._watermark is None:
            if self._start is None:
                raise RuntimeError("start() comes first")
            if not _ended(self._start, snapshot):
                return []
            self._watermark, latest, self._start = self._start.last, self._start.last, None
            rows = [row for row in rows if row.seq > latest]
        resolved: list[Change] = []
        for row in rows:
            if row.seq <= self._watermark:
                continue
            if row.seq > self._watermark + 1 and not self._skip_permanent(row.seq - 1, snapshot):
                break
            resolved.append(row)
            self._watermark = row.seq
        self._gaps = [gap for gap in self._gaps if gap.last > self._watermark]
        return resolved

    def _skip_permanent(self, last: int, snapshot: Snapshot) -> bool:
        """Move W through the missing seqs W+1..`last` (a row above them is visible); whether all.

        Each part is judged by the suspects found after the first snapshot
        that showed it missing (any snapshot showing it would do; the first
        one's suspects finish soonest).
        """
        assert self._watermark is not None
        while self._watermark < last:
            after = self._watermark + 1
            gap = next((g for g in self._gaps if g.last >= after), None)
            if gap is None or gap.first > after:
                end = last if gap is None else min(last, gap.first - 1)
                gap = _Gap(after, end, snapshot)
                self._gaps.append(gap)
                self._gaps.sort(key=lambda g: g.first)
            if not _ended(gap, snapshot):
                return False
            self._watermark = min(gap.last, last)
        return True


def _ended(gap: _Gap, snapshot: Snapshot) -> bool:
    """Whether every transaction that may fill `gap` had ended when `snapshot` was taken.

    Never before its suspects are known; `snapshot` is then one taken after
    they were read (`PostgresChangeFeed.poll` reads again after narrowing).
    """
    return gap.suspects is not None and not any(snapshot.running(x) for x in gap.suspects)
