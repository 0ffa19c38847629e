"""A worker's memory of the valid API tokens it looked up, for at most a second.

Every authenticated request looks its token up; the lookup is an indexed
read (on PostgreSQL a round trip) for what changes a few times a year. A
worker keeps what it found valid for `KEPT_FOR` seconds, counted from when
the lookup began, so that nothing it keeps predates the moment the
database answered by more than that. `token revoke` waits `KEPT_FOR` after
its commit before it returns: once it has returned, no worker anywhere
accepts the token. Unknown and revoked tokens are never kept (a token just
created works at once; a guessed one costs a lookup every time).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Final

from . import ApiToken, TokenStore

#: Seconds a worker keeps a valid token; `token revoke` waits this long.
KEPT_FOR: Final = 1.0
#: Tokens a worker keeps at once (the least recently used leave first).
KEPT_TOKENS: Final = 4096


class KeptTokens:
    """A `TokenStore` that remembers the valid tokens `store` found, for `lifetime` seconds.

    At most `size` of them: the least recently used leave first.
    """

    def __init__(
        self,
        store: TokenStore,
        *,
        lifetime: float = KEPT_FOR,
        size: int = KEPT_TOKENS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self._lifetime = lifetime
        self._size = size
        self._clock = clock
        self._kept: OrderedDict[str, tuple[float, ApiToken]] = OrderedDict()

    async def open(self) -> None:
        await self.store.open()

    async def close(self) -> None:
        self._kept.clear()
        await self.store.close()

    async def create(self, token: ApiToken, hashed: str) -> None:
        await self.store.create(token, hashed)

    async def find(self, hashed: str) -> ApiToken | None:
        began = self._clock()
        found = self._kept.get(hashed)
        if found is not None and found[0] > began:
            self._kept.move_to_end(hashed)
            return found[1]
        token = await self.store.find(hashed)
        if token is None:
            self._kept.pop(hashed, None)
            return None
        self._kept[hashed] = (began + self._lifetime, token)
        self._kept.move_to_end(hashed)
        if len(self._kept) > self._size:
            self._kept.popitem(last=False)
        return token

    async def list(self) -> list[ApiToken]:
        return await self.store.list()

    async def revoke(self, name: str, *, now: float) -> bool:
        # Forget every kept token of that name in this worker at once.
        for hashed in [h for h, (_, token) in self._kept.items() if token.name == name]:
            del self._kept[hashed]
        return await self.store.revoke(name, now=now)


__all__ = ["KEPT_FOR", "KEPT_TOKENS", "KeptTokens"]
