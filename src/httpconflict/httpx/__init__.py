"""An httpx client that handles HTTP conflicts for its users.

`ConflictClient` (and `AsyncConflictClient`) wrap an httpx client:

- ``update(url, change)``: read-modify-write that never loses an update,
  nor applies one twice. It GETs the document, applies `change` to a copy,
  and sends the difference as a JSON Merge Patch with If-Match, ``Prefer:
  rebase`` (so a server may merge it with changes to other fields) and a
  fresh Idempotency-Key; on 412, or a 409 merge-conflict, it reads again
  and re-applies `change`; on a lost answer, a 5xx, a 429 or a 409
  idempotency-key-in-flight it resends with the same key. Backoff is
  exponential with full jitter and honours Retry-After, bounded by
  attempts and by time.
- ``create(url, json)``: POST with an Idempotency-Key kept across its
  retries, so a retried create never makes a duplicate.
- ``watch(url)``: every change to a collection (or one document), as it
  happens, from its change feed (Server-Sent Events); a dropped stream is
  resumed from the last position seen, so no change is missed or repeated.
- ``get``, ``put``, ``patch``, ``delete``, ``post``: one request each, with
  If-Match from the client's memory of ETags per URL, and a fresh
  Idempotency-Key on each unsafe one.

When an operation gives up it raises a `ConflictError` carrying the
problem details, the last response and the number of attempts; when a
write's answer was lost and nothing tells whether it was applied, that is
`OutcomeUnknown`. The
algorithm itself is in the stdlib-only core, as generators of commands
that both clients drive.

Tests skip the waits with a `VirtualClock` (``clock=``), or, for clients
they cannot reach, with ``set_testing(True)``.
"""

try:
    import httpx  # noqa: F401  # first: without it, the error names the extra
except ModuleNotFoundError as error:
    from .._extras import missing_extra

    raise missing_extra(error, "httpx", __name__) from None


from .._client_commands import StoredDocument
from .._client_etags import ETagMemory
from .._client_retry import GiveUpReason, RetryPolicy
from .._client_watch import Change
from ._client import AsyncConflictClient, ConflictClient
from ._clock import Clock, SystemClock, VirtualClock
from ._errors import (
    ChangesExpired,
    ConflictError,
    OutcomeUnknown,
    RequestRefused,
    RetriesExhausted,
    UnusableAnswer,
)
from ._testing import is_testing, set_testing

__all__ = [
    "AsyncConflictClient",
    "Change",
    "ChangesExpired",
    "Clock",
    "ConflictClient",
    "ConflictError",
    "ETagMemory",
    "GiveUpReason",
    "OutcomeUnknown",
    "RequestRefused",
    "RetriesExhausted",
    "RetryPolicy",
    "StoredDocument",
    "SystemClock",
    "UnusableAnswer",
    "VirtualClock",
    "is_testing",
    "set_testing",
]
