"""In-memory idempotency keys: for one process (tests, a single worker)."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from ..._idempotency import Completion, Event, Record, State, StoredResponse, transition

__all__ = [
    "MemoryIdempotencyStore",
]


@dataclass(slots=True)
class _Entry:
    fingerprint: str
    state: State
    token: str
    expires_at: float
    response: StoredResponse | None = None

    def record(self) -> Record:
        return Record(self.fingerprint, self.state, self.response, self.expires_at)


class MemoryIdempotencyStore:
    """An `IdempotencyStore` in a dict; a lock makes each primitive atomic."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], _Entry] = {}
        self._lock = threading.Lock()

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        self._entries.clear()

    def _live(self, principal: str, key: str, now: float) -> _Entry | None:
        entry = self._entries.get((principal, key))
        if entry is not None and entry.expires_at <= now:
            del self._entries[principal, key]
            return None
        return entry

    async def ping(self) -> None:
        return None  # in this process: there while the process is

    async def claim(
        self, principal: str, key: str, fingerprint: str, token: str, *, now: float, lease: float
    ) -> Record | None:
        with self._lock:
            entry = self._live(principal, key, now)
            if entry is not None:
                return entry.record()
            state = transition(State.ABSENT, Event.CLAIM)
            self._entries[principal, key] = _Entry(fingerprint, state, token, now + lease)
            return None

    async def complete(
        self,
        principal: str,
        key: str,
        token: str,
        response: StoredResponse,
        *,
        now: float,
        retention: float,
        fingerprint: str | None = None,  # unused: the claim cannot vanish from under its owner
    ) -> bool:
        with self._lock:
            entry = self._entries.get((principal, key))
            if entry is None or entry.token != token or entry.state is not State.IN_FLIGHT:
                return False
            entry.state = transition(entry.state, Event.COMPLETE)
            entry.response = response
            entry.expires_at = now + retention
            return True

    async def release(self, principal: str, key: str, token: str) -> bool:
        with self._lock:
            entry = self._entries.get((principal, key))
            if entry is None or entry.token != token or entry.state is not State.IN_FLIGHT:
                return False
            transition(entry.state, Event.RELEASE)
            del self._entries[principal, key]
            return True

    async def renew(
        self,
        principal: str,
        key: str,
        token: str,
        *,
        now: float,
        lease: float,
        fingerprint: str | None = None,
    ) -> bool:
        with self._lock:
            entry = self._entries.get((principal, key))
            if entry is None or entry.token != token or entry.state is not State.IN_FLIGHT:
                return False
            entry.state = transition(entry.state, Event.RENEW)
            entry.expires_at = now + lease
            return True

    async def record(self, completion: Completion) -> bool:
        with self._lock:
            if self._live(completion.principal, completion.key, completion.now) is not None:
                return False
            self._entries[completion.principal, completion.key] = _Entry(
                completion.fingerprint,
                State.COMPLETED,
                "",
                completion.expires_at,
                completion.response,
            )
            return True

    async def get(self, principal: str, key: str, *, now: float) -> Record | None:
        with self._lock:
            entry = self._live(principal, key, now)
            return None if entry is None else entry.record()

    async def purge(self, *, now: float) -> int:
        with self._lock:
            expired = [k for k, e in self._entries.items() if e.expires_at <= now]
            for k in expired:
                del self._entries[k]
            return len(expired)
