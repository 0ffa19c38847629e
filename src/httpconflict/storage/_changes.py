"""The change feed's records, and how a reader knows which changes are final.

Every document write (create, replace, patch, delete, purge, erase) appends
a row to the ``changes`` table in its own transaction: the document's
collection, id and new version, its entity-tag (NULL: deleted) and time,
under ``seq``, one integer sequence for the whole database.

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
    """One row of the change feed; `etag` None: the document was deleted (or purged)."""

    seq: int
    collection: str
    id: str
    version: int
    etag: str | None
    modified_us: int


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
    """

    xmin: int
    xmax: int
    xip: frozenset[int]

    @classmethod
    def parse(cls, text: str) -> Snapshot:
        xmin, xmax, xip = text.split(":")
        return cls(int(xmin), int(xmax), frozenset(int(x) for x in xip.split(",") if x))


@dataclass(slots=True)
class _Gap:
    """Missing seqs first..last, and the transactions running when a snapshot first showed them."""

    first: int
    last: int
    suspects: frozenset[int]
    narrowed: bool = False


@dataclass(slots=True)
class SnapshotWatermark:
    """The watermark of a PostgreSQL change table, advanced by (snapshot, rows) reads.

    Writers take ``nextval`` in the statement that writes the document, AFTER
    the document row is written (the changes INSERT reads FROM the
    statement's ``written`` CTE), so a writer holds its transaction id before
    it holds its seq. Each read is ONE statement returning its own snapshot
    and the rows above W in seq order.

    Claim: if a snapshot S shows seq s and not seq g < s, then g's holder
    (if any) is running in S (g's xid is in S's xip list), or it will never
    commit a row g. Proof: sequence values are handed out in increasing
    order, so g's holder called nextval before s's holder did. s is visible
    in S, so s's holder committed before S was taken; hence g's holder
    called nextval before S was taken, and had its xid already then (its
    document row, written first, needed it). A transaction with an xid
    below S's xmax is, in S, either running (in xip) or finished. Finished
    and committed, its row g would be visible in S (the statement that took
    the seq inserted it, and a statement is atomic); it is not, so it
    aborted (or the row was purged since, which only a retention purge far
    behind W does). If nobody holds g (the sequence skipped values, as it
    does after a crash) there is nothing to wait for.

    So the first snapshot that shows a gap names every transaction that
    might still fill it: its xip list (a superset: unrelated transactions
    are running too). Once a later snapshot shows none of them running and
    the row still absent (both in that one statement), no transaction can
    ever commit it: the gap is permanent and W moves past it. Until then W
    stops at the gap, and nothing above it is delivered. The same holds at
    the start, where W is unknown: the first read's largest seq M is W as
    soon as no transaction running in that read's snapshot still is; by
    then every seq <= M committed or never will.

    The xip list holds every transaction with an xid, also those of other
    tables, schemas and applications, and one of them may run for hours.
    So the suspects are narrowed (`narrow`) to the transactions that hold a
    lock on the changes table, read after the snapshot: g's holder took
    that lock (an INSERT locks its table before it runs) before nextval and
    keeps it to its end, so if it still runs when the locks are read, it is
    among them; if it ended before, a later snapshot shows its row or not.
    Either way the test above is made on a snapshot taken after the
    narrowing (the next poll), never on the one that found the gap.

    A transaction that wrote a document and stays open therefore holds the
    feed (of every collection) until it ends: the price of commit order.
    The service's own writes are single statements.
    """

    _watermark: int | None = None
    #: Until W is known: the first read's largest seq and its suspects.
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
        self._start = _Gap(0, latest, snapshot.xip)

    @property
    def to_narrow(self) -> bool:
        """Whether suspects were found since the last `narrow` (and some may be unrelated)."""
        pending = [*self._gaps, *([self._start] if self._start else [])]
        return any(not gap.narrowed and gap.suspects for gap in pending)

    def narrow(self, lockers: frozenset[int]) -> None:
        """Keep as suspects only the transactions holding a lock on the changes table.

        `lockers`: their 32-bit xids (pg_locks), read after every snapshot
        that found a suspect not yet narrowed.
        """
        for gap in [*self._gaps, *([self._start] if self._start else [])]:
            if not gap.narrowed:
                gap.suspects = frozenset(x for x in gap.suspects if x % 2**32 in lockers)
                gap.narrowed = True

    def advance(self, snapshot: Snapshot, rows: Sequence[Change]) -> list[Change]:
        """The changes resolved by a read of the rows above W (in seq order) in `snapshot`."""
        if self._watermark is None:
            if self._start is None:
                raise RuntimeError("start() comes first")
            latest, suspects = self._start.last, self._start.suspects
            if suspects & snapshot.xip:
                return []
            self._watermark, self._start = latest, None
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

        Each part is judged by the suspects of the first snapshot that showed
        it missing (any snapshot showing it would do; the first one's
        suspects finish soonest).
        """
        assert self._watermark is not None
        while self._watermark < last:
            after = self._watermark + 1
            gap = next((g for g in self._gaps if g.last >= after), None)
            if gap is None or gap.first > after:
                end = last if gap is None else min(last, gap.first - 1)
                gap = _Gap(after, end, snapshot.xip)
                self._gaps.append(gap)
                self._gaps.sort(key=lambda g: g.first)
            if gap.suspects & snapshot.xip:
                return False
            self._watermark = min(gap.last, last)
        return True
