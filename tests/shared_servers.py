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
from contextlib import AbstractContextManager, ExitStack
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
        self._stack = ExitStack()

    def __call__(self, key: Key) -> Running:
        if key not in self._running:
            self._running[key] = self._stack.enter_context(self._start(key))
        return self._running[key]

    @property
    def started(self) -> int:
        """How many servers were started (one per configuration used)."""
        return len(self._running)

    def close(self) -> None:
        self._stack.close()


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
