"""The change feed's HTTP rules (``GET /v1/{collection}/_changes``): parameters and refusals.

`changes_query` reads a feed request's parameters (400 for a bad one),
`check_since` refuses a `since` the feed cannot answer (410
`ChangesExpired`, 400 beyond the latest change); the answer varies with
`VARY`. See `httpconflict._changes`.
"""

from ._changes import (
    DEFAULT_HEARTBEAT,
    DEFAULT_LIMIT,
    MAX_LIMIT,
    VARY,
    ChangesExpired,
    ChangesQuery,
    FeedForm,
    changes_query,
    check_since,
)

__all__ = [
    "DEFAULT_HEARTBEAT",
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "VARY",
    "ChangesExpired",
    "ChangesQuery",
    "FeedForm",
    "changes_query",
    "check_since",
]
