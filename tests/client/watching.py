"""Watching a hand-written feed in tests: the first changes a blocking or an async watch yields."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import TypedDict, Unpack

import httpx
import pytest

from httpconflict.httpx import AsyncConflictClient, Change, Clock, ConflictClient, RetryPolicy
from httpconflict.httpx import VirtualClock as VirtualClock

MODIFIED = "2026-12-02T16:00:00+00:00"
POLICY = RetryPolicy(attempts=5, budget=30.0)


def change_data(seq: int, doc: str = "n1") -> str:
    return json.dumps(
        {"seq": seq, "id": doc, "version": seq, "etag": f'"e{seq}"', "deleted": False}
        | {"modified": MODIFIED},
        ensure_ascii=False,
    )


def change_event(seq: int, end: str = "\n", doc: str = "n1") -> bytes:
    lines = ["event: change", f"id: {seq}", f"data: {change_data(seq, doc)}"]
    return (end.join(lines) + end + end).encode()


def heartbeat_event(seq: int) -> bytes:
    return f'id: {seq}\nevent: heartbeat\ndata: {{"seq":{seq}}}\n\n'.encode()


class Options(TypedDict, total=False):
    """The client's options a test may set: by default `POLICY` on a `VirtualClock`."""

    clock: Clock
    policy: RetryPolicy


def _options(options: Options) -> Options:
    return Options(
        clock=options.get("clock") or VirtualClock(), policy=options.get("policy", POLICY)
    )


def watch_sync(
    url: str, count: int, on_change: Callable[[Change], None], **options: Unpack[Options]
) -> list[Change]:
    """The first `count` changes a blocking watch of `url` yields."""
    seen: list[Change] = []
    with httpx.Client(timeout=10) as http:
        client = ConflictClient(http, **_options(options))
        for change in client.watch(url, since=0):
            seen.append(change)
            on_change(change)
            if len(seen) == count:
                break
    return seen


def watch_async(
    url: str, count: int, on_change: Callable[[Change], None], **options: Unpack[Options]
) -> list[Change]:
    """The first `count` changes an async watch of `url` yields."""

    async def main() -> list[Change]:
        seen: list[Change] = []
        async with httpx.AsyncClient(timeout=10) as http:
            client = AsyncConflictClient(http, **_options(options))
            watch = client.watch(url, since=0)
            async for change in watch:
                seen.append(change)
                on_change(change)
                if len(seen) == count:
                    break
            await watch.aclose()  # type: ignore[attr-defined]  # an async generator's
        return seen

    return asyncio.run(main())


WATCHES = [pytest.param(watch_sync, id="sync"), pytest.param(watch_async, id="async")]
