"""An httpx client that handles HTTP conflicts for its users.

`ConflictClient` (and `AsyncConflictClient`) wrap an httpx client:

- ``update(url, change)``: read-modify-write that never loses an update.
  It GETs the document, applies `change` to a copy, and sends the
  difference as a JSON Merge Patch with If-Match; on 412, or a 409
  merge-conflict, it reads again and re-applies `change`; on 429, 503 and
  409 idempotency-key-in-flight it resends. Backoff is exponential with
  full jitter and honours Retry-After, bounded by attempts and by time.
- ``create(url, json)``: POST with an Idempotency-Key kept across its
  retries, so a retried create never makes a duplicate.
- ``get``, ``put``, ``patch``, ``delete``, ``post``: one request each, with
  If-Match from the client's memory of ETags per URL.

When an operation gives up it raises a `ConflictError` carrying the
problem details, the last response and the number of attempts. The
algorithm itself is in the stdlib-only core, as generators of commands
that both clients drive.
"""

from .._client_commands import StoredDocument
from .._client_etags import ETagMemory
from .._client_retry import GiveUpReason, RetryPolicy
from ._client import AsyncConflictClient, ConflictClient
from ._clock import Clock, SystemClock, VirtualClock
from ._errors import ConflictError, RequestRefused, RetriesExhausted, UnusableAnswer

__all__ = [
    "AsyncConflictClient",
    "Clock",
    "ConflictClient",
    "ConflictError",
    "ETagMemory",
    "GiveUpReason",
    "RequestRefused",
    "RetriesExhausted",
    "RetryPolicy",
    "StoredDocument",
    "SystemClock",
    "UnusableAnswer",
    "VirtualClock",
]
