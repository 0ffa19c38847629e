"""How a route treats Idempotency-Keys: the policy every idempotency middleware takes.

The lifecycle itself (claim, replay, 409, 422, release) is
`httpconflict._idempotency`; this is what an application chooses about it
(which methods, whether a key is required, lease, retention, waiting, who
the caller is, which headers a replay repeats). It is a plain value with no
server interface in it, so the WSGI middleware and an ASGI one take the
same object, and the default caller is the same person under both.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, MutableMapping
from dataclasses import dataclass
from typing import Any, Final

from ._idempotency import StoredResponse

#: The methods whose requests change state (RFC 9110 §9.2.1), each of which
#: a client retries with its key after a lost answer: a PUT or DELETE is
#: idempotent only until someone else writes in between.
UNSAFE_METHODS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: How long a claim holds before a retry may run the request again (seconds).
DEFAULT_LEASE: Final = 30.0
#: How long a recorded answer is replayed (seconds).
DEFAULT_RETENTION: Final = 24 * 3600.0

#: Headers a replay repeats; anything else (Set-Cookie above all) is not
#: recorded, so one caller's session can never reach another's retry.
DEFAULT_REPLAY_HEADERS: Final = frozenset(
    {"content-type", "content-location", "location", "etag", "last-modified", "link"}
)

#: Fields that say what the recorded bytes are, kept with them on any allow-list.
_BODY_FIELDS: Final = frozenset({"content-encoding"})

#: An ASGI scope or a WSGI environ: what a principal function is given.
RequestMapping = MutableMapping[str, Any]


_warned_cookies = False


def _warn_cookies() -> None:
    global _warned_cookies  # once per process
    _warned_cookies = True
    logging.getLogger("httpconflict").warning(
        "a keyed request came with cookies and no Authorization: its caller is 'anonymous', "
        "and every such caller shares its keys (one is replayed another's answer); if callers "
        "are known by a session cookie, set IdempotencyPolicy(principal=cookie_principal(NAME))"
    )


def authorization_principal(request: RequestMapping) -> str:
    """The caller, as a hash of the Authorization header ("anonymous" without one).

    `request` is an ASGI scope (raw header bytes) or a WSGI environ (the
    same bytes decoded as latin-1, PEP 3333): both give the same principal,
    so an ASGI and a WSGI app sharing a store agree on who asked.
    """
    raw: bytes | None = None
    environ_value = request.get("HTTP_AUTHORIZATION")
    if isinstance(environ_value, str):
        raw = environ_value.encode("latin-1")
    else:
        for name, value in request.get("headers", ()):
            if name == b"authorization":
                raw = value
                break
    if raw is None:
        return "anonymous"
    # RFC 9110 §11.1: "It uses a case-insensitive token to identify the
    # authentication scheme": `Bearer x` and `bearer x` are one caller.
    # Written as schemes conventionally are (`Bearer`, `Basic`), so the
    # common spelling hashes as it always did and keys in flight keep their scope.
    scheme, space, credentials = raw.strip().partition(b" ")
    normalized = scheme.capitalize() + space + credentials.strip()
    return hashlib.sha256(normalized).hexdigest()[:32]


def default_principal(request: RequestMapping) -> str:
    """`authorization_principal`, the policy's default, warning once of callers it cannot tell.

    A keyed request with cookies and no Authorization is most often a
    browser's, signed in by a session cookie: all such callers are
    "anonymous", and share their keys.
    """
    principal = authorization_principal(request)
    if principal == "anonymous" and not _warned_cookies and _header(request, b"cookie"):
        _warn_cookies()
    return principal


def cookie_principal(name: str) -> Callable[[RequestMapping], str]:
    """A principal function for callers known by a session cookie: the cookie `name`'s value.

    A caller with an Authorization header is known by it, as by
    `authorization_principal`; one without, by the hash of its `name`
    cookie (a session id: ``sessionid`` for Django, ``session`` for Flask),
    which a retry sends unchanged; "anonymous" without either. Under the
    default principal every cookie-session user is "anonymous", and a key
    one of them used is replayed to another (who gets the first user's
    answer, and whose request never runs).
    """

    def principal(request: RequestMapping) -> str:
        if _header(request, b"authorization") is not None:
            return authorization_principal(request)
        cookies = _header(request, b"cookie")
        if cookies is None:
            return "anonymous"
        for pair in cookies.split(b";"):
            key, _, value = pair.strip().partition(b"=")
            if key == name.encode("latin-1") and value:
                return "cookie:" + hashlib.sha256(value).hexdigest()[:32]
        return "anonymous"

    return principal


def _header(request: RequestMapping, name: bytes) -> bytes | None:
    """A request field's raw bytes from an ASGI scope or a WSGI environ (the first one)."""
    environ_value = request.get("HTTP_" + name.decode().upper().replace("-", "_"))
    if isinstance(environ_value, str):
        return environ_value.encode("latin-1")
    for key, value in request.get("headers", ()):
        if key == name:
            return bytes(value)
    return None


def field_lines(request: RequestMapping, name: str) -> list[str]:
    """A request field's lines (`name` in lower case) from an ASGI scope or a WSGI environ.

    A WSGI server joins a field's lines into one, and gives Content-Type and
    Content-Length without the ``HTTP_`` prefix.
    """
    environ_name = name.upper().replace("-", "_")
    if name in ("content-type", "content-length"):
        environ_value = request.get(environ_name)
    else:
        environ_value = request.get("HTTP_" + environ_name)
    if isinstance(environ_value, str):
        return [environ_value] if environ_value else []
    wanted = name.encode("latin-1")
    return [
        bytes(value).decode("latin-1") for key, value in request.get("headers", ()) if key == wanted
    ]


@dataclass(frozen=True, slots=True)
class IdempotencyPolicy:
    """How the requests of one route are treated."""

    methods: frozenset[str] = UNSAFE_METHODS
    #: Answer 400 to a request without a key.
    required: bool = False
    #: How long a claim holds before a retry may run the request again.
    lease: float = DEFAULT_LEASE
    #: How long a recorded answer is replayed.
    retention: float = DEFAULT_RETENTION
    #: How long a duplicate waits for the first request before its 409.
    wait: float = 0.0
    #: Record 5xx answers and raises too (otherwise a retry runs the request again,
    #: unless a commit of it was seen or marked: `mark_applied`).
    store_server_errors: bool = False
    replay_headers: frozenset[str] = DEFAULT_REPLAY_HEADERS
    #: Who is asking, from the ASGI scope or WSGI environ: keys are per caller.
    principal: Callable[[RequestMapping], str] = default_principal
    #: The largest request body taken in (413 above it).
    max_body: int = 1024 * 1024
    #: The app records each answer itself, in the transaction of its side
    #: effect, which fails (undoing it) if the key already holds an answer;
    #: the middleware then answers from that. No claim, no lease, no look-up
    #: first: a crash leaves nothing behind.
    transactional: bool = False
    #: A form field that carries the key when the header does not: an HTML form's
    #: hidden field, fresh each time its page renders (`_form_keys`).
    form_field: str | None = None

    def covers(self, method: str) -> bool:
        """Whether a request with `method` goes through the key's lifecycle.

        Compared in upper case: RFC 9110 §9.1 makes the method token
        case-sensitive, but werkzeug and Django upper-case it before they
        route, so the app behind the middleware runs a ``post`` as a POST;
        a key skipped for it would let each retry write again.
        """
        return method.upper() in self.methods

    def recorded(
        self,
        status: int,
        headers: Iterable[tuple[str, str]],
        body: bytes,
        request_body: bytes = b"",
    ) -> StoredResponse:
        """An answer as it is stored and replayed: allow-listed headers only.

        Content-Encoding is kept whatever the list says: it is the body's own
        (RFC 9110 §8.4), and a compression middleware inside this one records
        coded bytes, which a replay without it would send as the plain ones.
        A body equal to the request's is not stored twice (`StoredResponse.echoes`).
        """
        allowed = self.replay_headers | _BODY_FIELDS
        kept = tuple((name, v) for n, v in headers if (name := n.lower()) in allowed)
        if body and body == request_body:
            return StoredResponse(status, kept, b"", echoes=True)
        return StoredResponse(status, kept, body)
