"""Pure ASGI middleware (no framework import).

    app = ConditionalMiddleware(app)                 # 304 / 412 for GET and HEAD
    app = IdempotencyMiddleware(app, store=idempotency_store("memory"))
    app = ProblemMiddleware(app)                     # a raised ProblemError is the answer
    app = DateMiddleware(app)                        # Date as sent; Last-Modified <= Date
    app = CodedETagMiddleware(GZipMiddleware(app))   # a gzip answer's own ETag, read back
    app = RequestBodyMiddleware(app, max_bytes=1 << 20)  # 415 coded, 413 past the limit

- `ConditionalMiddleware` (conditional.py): the app's 2xx becomes a 304 when
  If-None-Match / If-Modified-Since say the client has it, a 412 when
  If-Match / If-Unmodified-Since fail, a 400 for a malformed field, as the
  core's `read_decision` decides.
- `IdempotencyMiddleware` (idempotency.py): Idempotency-Key replays, 409 in
  flight, 422 for a reused key; its `IdempotencyPolicy` is the one the WSGI
  middleware takes too.
- `send_problem`, `send_error`, `ProblemMiddleware` (problems.py): RFC 9457
  answers from any ASGI app.
- `CodedETagMiddleware` (coded_etags.py): around a compression middleware,
  a coded answer gets its own strong ETag, and If-Match / If-None-Match
  read it back as the plain one; Vary: Accept-Encoding on every answer.
  `accepts_coding` tells the compression layer whether Accept-Encoding
  takes a coding (its weights, "*", any case).
- `RequestBodyMiddleware` (bodies.py): a request body sent content-coded
  is a 415 naming what is taken, one past `max_bytes` a 413, before the
  app reads it (a chunked one counted as it arrives).
- `DateMiddleware` (dates.py): every answer's Date stamped as it starts, and
  its Last-Modified never later (a server's own Date may lag by a second).
"""

from .._errors import problem_headers
from .._form_keys import new_form_key
from .._idempotency_policy import (
    DEFAULT_REPLAY_HEADERS,
    IdempotencyPolicy,
    authorization_principal,
    cookie_principal,
)
from .bodies import RequestBodyMiddleware
from .coded_etags import CodedETagMiddleware, accepts_coding
from .conditional import NOT_MODIFIED_HEADERS, ConditionalMiddleware
from .dates import DateMiddleware
from .idempotency import (
    CLAIM_SCOPE_KEY,
    ActiveClaim,
    IdempotencyMiddleware,
    PolicyChoice,
    active_claim,
)
from .problems import (
    PROBLEM_SCOPE_KEY,
    ProblemMiddleware,
    send_error,
    send_problem,
    send_response,
)
from .types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "CLAIM_SCOPE_KEY",
    "DEFAULT_REPLAY_HEADERS",
    "NOT_MODIFIED_HEADERS",
    "PROBLEM_SCOPE_KEY",
    "ASGIApp",
    "ActiveClaim",
    "CodedETagMiddleware",
    "ConditionalMiddleware",
    "DateMiddleware",
    "IdempotencyMiddleware",
    "IdempotencyPolicy",
    "Message",
    "PolicyChoice",
    "ProblemMiddleware",
    "Receive",
    "RequestBodyMiddleware",
    "Scope",
    "Send",
    "accepts_coding",
    "active_claim",
    "authorization_principal",
    "cookie_principal",
    "new_form_key",
    "problem_headers",
    "send_error",
    "send_problem",
    "send_response",
]
