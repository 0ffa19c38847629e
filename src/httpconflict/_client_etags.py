"""A client's memory of entity-tags, per URL, so its writes carry If-Match.

Theory of operation: a client that read a document (or wrote it) knows
which version its next write is based on; sending that in If-Match makes
the server refuse the write (412) if someone else wrote in between, instead
of silently overwriting them. The memory learns from successful answers
only: learning the ETag of a 412 would make the blind retry of a stale
write succeed, which is the lost update If-Match exists to prevent.

Whose memory: each thread, and each asyncio task, has its own. A write's
If-Match must name the version its caller read; with one memory for all,
a thread's PUT carried the ETag another thread had just read or written,
so a write computed from a stale read passed If-Match and overwrote the
other's (8 threads sharing one client, each reading n and writing n + 1:
179 writes answered 200, n ended at 75). Each caller now recalls only what
it saw itself; one that saw nothing of a URL adds no If-Match (and a
service that requires one answers 428, never a lost update).

It is bounded (least recently used entries are forgotten first) and safe
to share between threads.
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Final
from urllib.parse import urljoin, urlsplit

from ._etag import ETag

#: Methods whose request gets the remembered ETag in If-Match.
CONDITIONAL_WRITES: Final = frozenset({"PUT", "PATCH", "DELETE"})
#: Methods whose 2xx answer's ETag names the target's current version.
_LEARN_FROM: Final = frozenset({"GET", "HEAD", "PUT", "PATCH"})
DEFAULT_SIZE: Final = 10_000


#: Who saw an answer: a thread, and the asyncio task running in it (0: none).
_Caller = tuple[int, int]


def _caller() -> _Caller:
    try:
        task = asyncio.current_task()
    except RuntimeError:  # no event loop running in this thread
        task = None
    return threading.get_ident(), 0 if task is None else id(task)


class ETagMemory:
    """The last entity-tag each caller (thread or asyncio task) saw for each URL (absolute)."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        if size < 1:
            raise ValueError(f"size must be at least 1, not {size}")
        self._size = size
        self._tags: OrderedDict[tuple[_Caller, str], str] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._tags)

    def recall(self, url: str) -> str | None:
        """The ETag field value this caller saw last for `url`, as the server sent it."""
        key = (_caller(), url)
        with self._lock:
            etag = self._tags.get(key)
            if etag is not None:
                self._tags.move_to_end(key)
            return etag

    def remember(self, url: str, etag: str) -> None:
        key = (_caller(), url)
        with self._lock:
            self._tags[key] = etag
            self._tags.move_to_end(key)
            while len(self._tags) > self._size:
                self._tags.popitem(last=False)

    def forget(self, url: str) -> None:
        with self._lock:
            self._tags.pop((_caller(), url), None)

    def if_match(self, method: str, url: str, headers: Mapping[str, str]) -> str | None:
        """The If-Match value to add to a request, or None to send it as it is.

        Only for PUT, PATCH and DELETE, and only when the caller set no
        precondition of their own (If-Match or If-None-Match: theirs wins).
        `headers` is looked up by lower-case name.
        """
        if method.upper() not in CONDITIONAL_WRITES:
            return None
        if "if-match" in headers or "if-none-match" in headers:
            return None
        return self.recall(url)

    def observe(self, method: str, url: str, status: int, headers: Mapping[str, str]) -> None:
        """Learn from one answer to `method` on `url` (`headers` looked up by lower-case name).

        A 2xx answer to GET, HEAD, PUT or PATCH with a strong ETag names the
        version now current at `url`; a 2xx answer to POST with a Location
        (of its origin) and an ETag, the version created there. A 2xx answer to DELETE, a
        404 and a 410 say nothing is there any more.
        """
        method = method.upper()
        if status in (404, 410) or (method == "DELETE" and 200 <= status < 300):
            self.forget(url)
            return
        if not 200 <= status < 300:
            return
        etag = _strong(headers.get("etag"))
        if etag is None:
            return
        if method in _LEARN_FROM:
            self.remember(url, etag)
        elif method == "POST" and (location := headers.get("location")):
            created = _created_at(url, location)
            if created is not None:
                self.remember(created, etag)


def _created_at(url: str, location: str) -> str | None:
    """`location` resolved against `url`, if it is a URL of `url`'s origin (else None).

    A server speaks for its own origin only: one whose POST answered a
    Location on another host (with that host's current ETag, which it may
    read as anyone can) made the next write there carry an If-Match of its
    choosing, which passed over a change the caller never saw. RFC 9111
    §4.4 keeps a cache from taking another host's Location for the same
    reason. A Location that is no URL (``http://[oops``) names nothing to
    remember: the create was made all the same, and raising here said it
    was not.
    """
    try:
        created = urljoin(url, location)
        return created if _origin(created) == _origin(url) else None
    except ValueError:
        return None


def _origin(url: str) -> tuple[str, str, int | None]:
    """RFC 6454 §4: a URL's scheme, host and port (raises ValueError for a bad port)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, parts.hostname or "", parts.port or _PORTS.get(scheme)


_PORTS: Final = {"http": 80, "https": 443}


def _strong(value: str | None) -> str | None:
    """`value` if it is one strong entity-tag (a weak one never matches If-Match)."""
    if value is None:
        return None
    try:
        etag = ETag.parse(value)
    except ValueError:
        return None
    return None if etag.weak else etag.to_header()
