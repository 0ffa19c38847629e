"""Pure WSGI middleware (no framework import): Idempotency-Key and conditional GET.

    app = IdempotencyMiddleware(app, store=idempotency_store("redis://..."))
    app = ConditionalMiddleware(app)
    # Flask: app.wsgi_app = IdempotencyMiddleware(app.wsgi_app, store=...)

- `IdempotencyMiddleware` (idempotency.py): the ASGI middleware's
  behaviour, `IdempotencyPolicy` and stores, for threaded servers: replays
  with ``Idempotent-Replayed: true``, 409 in flight, 422 for a reused key,
  400 for a malformed one, the claim released when the app raises; a body
  that ends early runs nothing (400 ``incomplete-body``, see _input.py).
- `ConditionalMiddleware` (conditional.py): 304, 412 and 400 for GET and
  HEAD from the app's answer, as the core's `read_decision` decides.
"""

from .._form_keys import new_form_key
from .._idempotency_policy import (
    DEFAULT_REPLAY_HEADERS,
    IdempotencyPolicy,
    authorization_principal,
    cookie_principal,
)
from ..storage.idempotency.blocking import BlockingIdempotencyStore
from ._answers import problem_answer
from .conditional import NOT_MODIFIED_HEADERS, ConditionalMiddleware
from .idempotency import IdempotencyMiddleware, PolicyChoice, active_claim

__all__ = [
    "DEFAULT_REPLAY_HEADERS",
    "NOT_MODIFIED_HEADERS",
    "BlockingIdempotencyStore",
    "ConditionalMiddleware",
    "IdempotencyMiddleware",
    "IdempotencyPolicy",
    "PolicyChoice",
    "active_claim",
    "authorization_principal",
    "cookie_principal",
    "new_form_key",
    "problem_answer",
]
