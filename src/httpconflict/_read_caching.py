"""How a cache may keep a read of a versioned resource: ask before each use, unless the app says.

Theory of operation: a GET answer that carries a validator (ETag,
Last-Modified) and says nothing of its freshness is "heuristically
cacheable" (RFC 9111 §4.2.2): a shared cache keeps it (Varnish 120 s) and
answers it without asking. No common cache drops what it keeps of a URL
when a PUT to it passes through (§4.4 says it must), so after a write every
read through it is the old version, and every If-Match write made from it
a 412, until it expires. A version a write may change at any moment is
sent with ``Cache-Control: no-cache`` (§5.2.2.4): a cache may keep it, but
asks the origin before each use, with If-None-Match, and a 304 while the
version is current costs the origin no body.

The adapters add `REVALIDATE` to such an answer, and to the 304 made in its
place (§15.4.5: a 304 repeats the Cache-Control its 200 would carry), only
where the app set no Cache-Control of its own: an app's caching is never
overridden. Each adapter takes ``cache_control=`` (None: add nothing) for
an app that chooses otherwise everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from ._preconditions import SAFE_METHODS

#: What a read with a validator says of caching when the app said nothing.
REVALIDATE: Final = "no-cache"

_VALIDATORS: Final = frozenset({"etag", "last-modified"})


def read_cache_control(
    method: str,
    status: int,
    names: Iterable[str],
    default: str | None = REVALIDATE,
) -> str | None:
    """The Cache-Control to add to an answer with these header field `names`, or None.

    `default` (None: never any) for a GET or HEAD answered 2xx, or 304,
    that carries an ETag or a Last-Modified and no Cache-Control.
    """
    if default is None or method.upper() not in SAFE_METHODS:
        return None
    if not (200 <= status < 300 or status == 304):
        return None
    validated = False
    for name in names:
        lower = name.lower()
        if lower == "cache-control":
            return None
        validated = validated or lower in _VALIDATORS
    return default if validated else None


def with_read_caching(
    method: str,
    status: int,
    fields: Iterable[tuple[str, str]],
    default: str | None = REVALIDATE,
) -> list[tuple[str, str]]:
    """`fields`, with ``Cache-Control`` added as `read_cache_control` decides."""
    pairs = list(fields)
    added = read_cache_control(method, status, (name for name, _ in pairs), default)
    return pairs if added is None else [*pairs, ("Cache-Control", added)]
