"""The bytes of answers a worker holds for clients not taking them (``--max-answer-memory``).

Theory of operation: an answer's bytes wait in the worker only when its
client takes them more slowly than they come: the connection's transport
then holds more than its high-water mark (64 KiB) and pauses writing. The
worker counts, as `held`, what the transports of its paused connections
hold, measured when asked (each transport knows its buffer's size). Nothing
else of an answer waits in the worker for a client: a list page reads its
next batch only once the client has taken the last, and a pipelined request
is not run while the answer ahead of it is not taken (the service's
protocol). What connections that are not paused hold is under their
high-water mark each, bounded by the connections. An answer's bytes handed
to a thread to be compressed (gzip) are counted too, as `compressing`, from
then until their compressed bytes are written: queued for one of the 40
threads behind others, a page's batches waited there uncounted, and 120
stalled gzip readers of a page that does not compress grew 2 workers by 73
and 68 MiB with a 16 MiB budget, every one of them admitted.

Past the limit, room is made by cutting the connections whose clients have
taken less than `MIN_PROGRESS` bytes in the last `STALLED_FOR` seconds
(what the client took is read from the worker's buffer and the kernel's:
from the worker's alone, which goes down only when the kernel's frees a
third of itself, every reader taking 48 KiB a second was cut as stalled,
before the stalled readers, being paused longest),
those stalled longest first, and only connections that ran no write that
may have applied something (only safe requests, GET, HEAD, OPTIONS, and
writes answered 4xx; a write pipelined behind a stalled answer has not
run): a GET's answer cut loses nothing, its client asks again, as it does
a write that applied nothing; a stream of the change feed cut is resumed from its
Last-Event-ID. A write's answer is counted, never cut early (``--body-timeout``
still ends a connection whose client takes nothing). While the limit is
passed, a new large GET answer that finds no room gets 503 (`admits`):
without the cuts, readers that stall for the body timeout (60 s) would hold
the budget, and every large GET would get 503 for as long.

Without it, 200 clients that asked for a list page and read nothing took a
worker from 194 to 489 MiB until the body timeout; the bound was
``--max-connections``, about 2 GiB a worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar, Final, Protocol

#: A connection whose client takes less than this in `STALLED_FOR` seconds is stalled.
MIN_PROGRESS: Final = 16 * 1024
STALLED_FOR: Final = 1.0
#: While held passes the limit, how often stalled connections are looked for again.
CHECK_EVERY: Final = 0.5
#: Seconds between two warnings that the limit was reached.
_WARN_EVERY: Final = 60.0

log = logging.getLogger("httpconflict")


class Holder(Protocol):
    """A connection as the budget sees it."""

    def buffered(self) -> int:
        """The bytes of answers its transport holds, not yet taken by the client."""
        ...

    def untaken(self) -> int:
        """The bytes of answers its client has not taken: `buffered`, and the kernel's."""
        ...

    def cuttable(self) -> bool:
        """Whether cutting it loses nothing: it ran no write that may have applied something."""
        ...

    def cut(self) -> None:
        """End it at once, dropping what it holds."""
        ...


@dataclass(slots=True)
class _Progress:
    """What a paused connection held when its client last took `MIN_PROGRESS` bytes, and when."""

    size: int
    since: float


class WorkerAnswers:
    """The answers held by a worker's paused connections, and the limit on them."""

    limit: ClassVar[int] = 64 * 1024 * 1024
    _paused: ClassVar[dict[Holder, _Progress]] = {}
    _check: ClassVar[asyncio.TimerHandle | None] = None
    #: Bytes of answers handed to threads to be compressed, not yet written.
    compressing: ClassVar[int] = 0
    _last_warning: ClassVar[float] = 0.0

    @classmethod
    def paused(cls, holder: Holder) -> None:
        """`holder`'s client takes its answers more slowly than they come."""
        now = time.monotonic()
        cls._paused[holder] = _Progress(holder.untaken(), now)
        cls.make_room(now)

    @classmethod
    def resumed(cls, holder: Holder) -> None:
        """`holder`'s client took its answers (down to the low-water mark), or it is gone."""
        cls._paused.pop(holder, None)

    @classmethod
    @contextlib.contextmanager
    def compressed(cls, size: int) -> Iterator[None]:
        """Count `size` bytes of an answer while a thread compresses them."""
        cls.compressing += size
        try:
            yield
        finally:
            cls.compressing -= size

    @classmethod
    def held(cls) -> int:
        """The bytes the paused connections hold now, and those being compressed."""
        return sum(holder.buffered() for holder in cls._paused) + cls.compressing

    @classmethod
    def admits(cls) -> bool:
        """Whether a new large answer may start: room is made first if the limit is passed."""
        if not cls._paused:
            return cls.compressing <= cls.limit
        return cls.make_room(time.monotonic()) <= cls.limit

    @classmethod
    def make_room(cls, now: float) -> int:
        """Cut stalled connections, stalled longest first, while past the limit; what is held."""
        sizes: dict[Holder, int] = {}
        for holder, progress in cls._paused.items():
            sizes[holder] = holder.buffered()
            # What the client took: the worker's buffer alone goes down only when the
            # kernel's (up to 4 MiB) frees a third of itself, many seconds for a slow reader.
            size = holder.untaken()
            if size <= progress.size - MIN_PROGRESS:
                progress.size, progress.since = size, now  # its client is reading
            elif size > progress.size:
                progress.size = size
        held = sum(sizes.values()) + cls.compressing
        if held <= cls.limit:
            return held
        cls._warn()
        stalled = [
            holder
            for holder, progress in cls._paused.items()
            if now - progress.since >= STALLED_FOR and holder.cuttable()
        ]
        stalled.sort(key=lambda holder: cls._paused[holder].since)
        for holder in stalled:
            if held <= cls.limit:
                break
            held -= sizes[holder]
            del cls._paused[holder]
            holder.cut()
        if held > cls.limit and cls._check is None:
            # Others may stall later: look again, without waiting for a new answer.
            cls._check = asyncio.get_running_loop().call_later(CHECK_EVERY, cls._look_again)
        return held

    @classmethod
    def _look_again(cls) -> None:
        cls._check = None
        if cls._paused:
            cls.make_room(time.monotonic())

    @classmethod
    def _warn(cls) -> None:
        now = time.monotonic()
        if now - cls._last_warning >= _WARN_EVERY:
            cls._last_warning = now
            log.warning(
                "answers held for clients that do not take them reached %d bytes "
                "(--max-answer-memory): stalled readers are cut, new large GET answers get 503",
                cls.limit,
            )
