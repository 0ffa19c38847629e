"""The change feed's HTTP rules (``GET /v1/{collection}/_changes``): parameters and refusals.

`changes_query` reads a feed request's parameters (400 for a bad one),
`check_since` refuses a `since` the feed cannot answer (410
`SinceExpired`, 400 beyond the latest change); the answer varies with
`VARY`. See `httpconflict._changes`.

`SinceExpired` was named ``ChangesExpired``, as the client's error is
(``httpconflict.httpx.ChangesExpired``, what a watch raises on a 410): an
``except`` around a watch that imported this one never caught anything.
The old name still works, with a `DeprecationWarning`, for one release.
"""

from typing import Any

from ._changes import (
    DEFAULT_HEARTBEAT,
    DEFAULT_LIMIT,
    MAX_LIMIT,
    VARY,
    ChangesQuery,
    FeedForm,
    SinceExpired,
    changes_query,
    check_since,
)
from ._deprecation import warn_deprecated

__all__ = [
    "DEFAULT_HEARTBEAT",
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "VARY",
    "ChangesQuery",
    "FeedForm",
    "SinceExpired",
    "changes_query",
    "check_since",
]


def __getattr__(name: str) -> Any:
    # PEP 562: only a name the module lacks comes here, so only the old one warns.
    if name == "ChangesExpired":
        warn_deprecated(
            "httpconflict.changes.ChangesExpired",
            "httpconflict.changes.SinceExpired to answer a 410 from a feed, or "
            "httpconflict.httpx.ChangesExpired to catch what a watch raises",
        )
        return SinceExpired
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
