"""Servers a module's tests share: one per configuration, started on its first use.

A module whose tests each started an app server on a database of its own,
for a handful of configurations, spent most of its time starting them (a
uvicorn or werkzeug start of an app is 1.5-2 s of CPU). `SharedServers`
starts each configuration once, when a test first asks for it, and stops
them all when the module's fixture ends. A test sharing one puts back
what it reads (its rows) and reads the server's log from where it began
(`LogFrom`).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

Key = TypeVar("Key", bound=Hashable)
Running = TypeVar("Running")


class SharedServers(Generic[Key, Running]):
    """`start(key)` entered once per key, on first use; all exited by `close`."""

    def __init__(self, start: Callable[[Key], AbstractContextManager[Running]]) -> None:
        self._start = start
        self._running: dict[Key, Running] = {}
        self._entered: list[AbstractContextManager[Running]] = []

    def __call__(self, key: Key) -> Running:
        if key not in self._running:
            server = self._start(key)
            self._running[key] = server.__enter__()
            self._entered.append(server)
        return self._running[key]

    @property
    def started(self) -> int:
        """How many servers were started (one per configuration used)."""
        return len(self._running)

    def close(self) -> None:
        """Exit every server's block at once; raise the first error any of them raised.

        One after another, stopping nine servers and dropping their databases
        took 16-19 s of a loaded machine's wall time (1.3-2.2 s a stop, 0.4-2.4
        s a DROP DATABASE), almost none of it CPU.
        """
        entered, self._entered = self._entered, []
        self._running.clear()
        if not entered:
            return
        with ThreadPoolExecutor(len(entered)) as pool:
            futures = [pool.submit(server.__exit__, None, None, None) for server in entered]
        errors = [error for future in futures if (error := future.exception()) is not None]
        if errors:
            raise errors[0]


@dataclass(frozen=True)
class LogFrom:
    """The logs (``app-*.log``) in `folder`, as written since this was made."""

    folder: Path
    offsets: dict[Path, int]

    @classmethod
    def now(cls, folder: Path) -> LogFrom:
        return cls(folder, {path: path.stat().st_size for path in folder.glob("app-*.log")})

    def text(self) -> str:
        """What the logs gained since `now`."""
        paths = sorted(self.folder.glob("app-*.log"))
        return "".join(
            path.read_bytes()[self.offsets.get(path, 0) :].decode(errors="replace")
            for path in paths
        )
