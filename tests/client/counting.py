"""Pure counters through the client: many clients each incrementing one document, sync or async."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

import httpx

from httpconflict.httpx import AsyncConflictClient, ConflictClient, ConflictError, RetryPolicy

Flavour = Literal["sync", "async"]


def increment(doc: dict[str, Any]) -> dict[str, Any]:
    """n + 1 from what was read: nothing of the client in the body."""
    return {**doc, "n": doc["n"] + 1}


def count_updates(
    flavour: str, base: str, path: str, *, clients: int, updates: int, policy: RetryPolicy
) -> tuple[int, list[str]]:
    """`clients` clients (threads, or tasks) each `update` `path` `updates` times, all at once.

    How many updates the client reported successful, and each error's message.
    """
    ok, errors, lock = 0, [], threading.Lock()

    def ended(error: ConflictError | None) -> None:
        nonlocal ok
        with lock:
            if error is None:
                ok += 1
            else:
                errors.append(str(error))

    def one_sync() -> None:
        with httpx.Client(base_url=base, timeout=5) as http:
            client = ConflictClient(http, policy=policy)
            for _ in range(updates):
                try:
                    client.update(path, increment)
                except ConflictError as error:
                    ended(error)
                else:
                    ended(None)

    async def one_async() -> None:
        async with httpx.AsyncClient(base_url=base, timeout=5) as http:
            client = AsyncConflictClient(http, policy=policy)
            for _ in range(updates):
                try:
                    await client.update(path, increment)
                except ConflictError as error:
                    ended(error)
                else:
                    ended(None)

    async def all_async() -> None:
        await asyncio.gather(*(one_async() for _ in range(clients)))

    if flavour == "sync":
        with ThreadPoolExecutor(clients) as pool:
            for future in [pool.submit(one_sync) for _ in range(clients)]:
                future.result()
    else:
        asyncio.run(all_async())
    return ok, errors
