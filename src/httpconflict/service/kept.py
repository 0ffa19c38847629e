"""A worker's copy of something per collection that changes rarely, read again after a while.

Every request needs its collection's access rules, and every write its
unique keys; on PostgreSQL reading them is a round trip (about 0.2 ms) for
what changes a few times a year. The worker that changes a collection's
settings forgets its copy at once; the others read the change within
`lifetime` seconds.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Final, Generic, TypeVar

#: Seconds a worker keeps a collection's settings before reading them again:
#: a change made through another worker holds there within this time.
LIFETIME: Final = 1.0
#: Collections whose settings a worker keeps at once (the least recently used leave first).
KEPT: Final = 4096

T = TypeVar("T")


class Kept(Generic[T]):
    """Values per collection from `read`, each read again after `lifetime` seconds."""

    def __init__(
        self,
        read: Callable[[str], Awaitable[T]],
        *,
        lifetime: float = LIFETIME,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read = read
        self._lifetime = lifetime
        self._clock = clock
        self._kept: OrderedDict[str, tuple[float, T]] = OrderedDict()

    async def get(self, collection: str) -> T:
        """The value for `collection`, read again when the copy is older than the lifetime."""
        now = self._clock()
        found = self._kept.get(collection)
        if found is None or found[0] <= now:
            found = (now + self._lifetime, await self._read(collection))
            self._kept[collection] = found
            if len(self._kept) > KEPT:
                self._kept.popitem(last=False)
        self._kept.move_to_end(collection)
        return found[1]

    def forget(self, collection: str) -> None:
        self._kept.pop(collection, None)
