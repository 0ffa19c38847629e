"""The service's settings, passed to worker processes through the environment."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, fields
from typing import Final, Literal

from ..access import AccessRules
from ..hosts import LOOPBACK_HOSTS, AllowedHosts
from ..storage import DEFAULT_HISTORY, DEFAULT_PG_STATEMENT_TIMEOUT, DEFAULT_SQLITE_BUSY_TIMEOUT
from ..storage.idempotency import DEFAULT_LEASE, DEFAULT_RETENTION

DEFAULT_DB: Final = "httpconflict.db"
DEFAULT_MAX_BODY: Final = 1024 * 1024
DEFAULT_MAX_HEADER_BYTES: Final = 64 * 1024
DEFAULT_HEADER_TIMEOUT: Final = 10.0
DEFAULT_BODY_TIMEOUT: Final = 60.0
#: Seconds an idle connection is kept for its next request (uvicorn's own default).
DEFAULT_KEEP_ALIVE: Final = 5
DEFAULT_MAX_CONNECTIONS: Final = 1000
#: Bytes of request bodies a worker holds at once, past each body's first 64 KiB.
DEFAULT_MAX_BODY_MEMORY: Final = 64 * 1024 * 1024
#: Bytes of answers a worker holds for clients that take them more slowly than they come.
DEFAULT_MAX_ANSWER_MEMORY: Final = 64 * 1024 * 1024
#: Seconds a worker of several may stay silent before its supervisor kills and
#: replaces it (uvicorn pings each worker; its own default is 5 s). A worker the
#: machine starves of CPU for seconds is not hung, and killing it takes its
#: requests in flight with it: the service waits as long as gunicorn does (30 s).
WORKER_HEALTHCHECK_TIMEOUT: Final = 30
DEFAULT_PURGE_INTERVAL: Final = 3600.0
DEFAULT_TOMBSTONE_RETENTION: Final = 30 * 24 * 3600.0
DEFAULT_CHANGES_RETENTION: Final = 7 * 24 * 3600.0
#: The service's grants when none is configured: locked, but for role "admin".
DEFAULT_GRANTS: Final = ("admin=role:admin",)
DEFAULT_JWT_LEEWAY: Final = 10.0
#: How callers may authenticate (the --auth setting lists some of them).
AUTH_METHODS: Final = ("tokens", "jwt")
_PREFIX: Final = "HTTPCONFLICT_"

# RFC 6454 §6.1: an origin serialised is scheme "://" host [ ":" port ].
_ORIGIN: Final = re.compile(
    r"[A-Za-z][A-Za-z0-9+.\-]*://(\[[0-9A-Fa-f:.]+\]|[^\s/:?#@\[\]]+)(:\d+)?"
)

LogFormat = Literal["text", "json", "off"]


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    """Settings of one `httpconflict serve` instance."""

    #: A SQLite file path or a postgresql:// URL.
    db: str = DEFAULT_DB
    #: How many versions of each document the history keeps.
    history: int = DEFAULT_HISTORY
    #: Seconds a write waits for the SQLite file's lock (held by another
    #: process or worker) before its 503; other requests go on meanwhile.
    sqlite_busy_timeout: float = DEFAULT_SQLITE_BUSY_TIMEOUT
    #: Seconds a PostgreSQL statement may take before its connection is cut:
    #: 503 for a read, 504 for a write (a database frozen or cut off).
    pg_statement_timeout: float = DEFAULT_PG_STATEMENT_TIMEOUT
    #: On PostgreSQL, If-Match PUTs that arrive while 2 statements are at
    #: the database go together in one statement, each checked on its own.
    pg_group_commit: bool = False
    #: The largest request body accepted, in bytes (413 above it).
    max_body: int = DEFAULT_MAX_BODY
    #: Accept PUT and DELETE without a precondition on an existing document
    #: (last writer wins, updates can be lost). Off: such writes get 428.
    blind_writes: bool = False
    #: The access log: one line per request, as text or JSON lines.
    log_format: LogFormat = "text"
    #: Where Idempotency-Keys of POST /v1/{c} live: "db" (beside the
    #: documents, completed in the same transaction), "memory", a redis://
    #: URL, or "off".
    idempotency: str = "db"
    #: Answer 400 to a POST without an Idempotency-Key.
    idempotency_required: bool = False
    #: Seconds a claim holds before a retry may run the request again.
    idempotency_lease: float = DEFAULT_LEASE
    #: Seconds a duplicate waits for the first request before its 409.
    idempotency_wait: float = 0.0
    #: Seconds a recorded answer is replayed.
    idempotency_retention: float = DEFAULT_RETENTION
    #: The largest request head (request line and header fields) read, in bytes (431 above it).
    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES
    #: Seconds a request's head has to arrive whole (408 after).
    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    #: Seconds a request's body has to arrive whole, from the end of its head (408 after).
    body_timeout: float = DEFAULT_BODY_TIMEOUT
    #: Open connections per worker; the first request of one beyond them gets 503.
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    max_body_memory: int = DEFAULT_MAX_BODY_MEMORY
    #: Bytes of answers a worker holds for clients not taking them (stalled ones cut past it).
    max_answer_memory: int = DEFAULT_MAX_ANSWER_MEMORY
    #: Seconds between two purges of old tombstones and expired keys (0: never).
    purge_interval: float = DEFAULT_PURGE_INTERVAL
    #: Seconds a deleted document's tombstone (and history) is kept.
    tombstone_retention: float = DEFAULT_TOMBSTONE_RETENTION
    #: Seconds an entry of the change feed is kept (a `since` older is 410).
    changes_retention: float = DEFAULT_CHANGES_RETENTION
    #: The service's grants, one RIGHT=GRANTEE a line, holding on every
    #: collection (see `_access`); "": admin=role:admin alone.
    grants: str = ""
    #: How callers authenticate: "", "tokens", "jwt" or "tokens,jwt" ("": anonymous).
    auth: str = ""
    #: The shared secret of HMAC-signed JWTs (HS256/384/512).
    jwt_secret: str = ""
    #: A JWKS file path or https:// URL of the public keys that sign JWTs.
    jwt_jwks: str = ""
    #: The `aud` a JWT must name ("": not checked).
    jwt_audience: str = ""
    #: The `iss` a JWT must name ("": not checked).
    jwt_issuer: str = ""
    #: The claim holding a JWT's roles (a list, or a space-separated string; dots nest).
    jwt_roles_claim: str = "roles"
    #: The claim naming a JWT's principal ("jwt:" + its value).
    jwt_principal_claim: str = "sub"
    #: Seconds of clock skew allowed when checking exp, nbf and iat.
    jwt_leeway: float = DEFAULT_JWT_LEEWAY
    #: The hosts requests may name (Host header); any other gets 421. "*" allows any.
    allowed_hosts: tuple[str, ...] = LOOPBACK_HOSTS
    #: Origins whose pages may call the service from a browser (CORS); none by default.
    cors_origins: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.history < 1:
            raise ValueError("history must be at least 1")
        if self.sqlite_busy_timeout <= 0:
            raise ValueError("the SQLite busy timeout must be positive")
        if self.pg_statement_timeout <= 0:
            raise ValueError("the PostgreSQL statement timeout must be positive")
        if self.max_body < 1:
            raise ValueError("max_body must be at least 1 byte")
        if self.idempotency_lease <= 0 or self.idempotency_retention <= 0:
            raise ValueError("idempotency lease and retention must be positive")
        if self.idempotency_wait < 0:
            raise ValueError("idempotency wait cannot be negative")
        if self.max_header_bytes < 1:
            raise ValueError("max_header_bytes must be at least 1 byte")
        if self.header_timeout <= 0 or self.body_timeout <= 0:
            raise ValueError("header and body timeouts must be positive")
        if self.max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        if self.max_body_memory < 1:
            raise ValueError("max_body_memory must be at least 1 byte")
        if self.max_answer_memory < 1:
            raise ValueError("max_answer_memory must be at least 1 byte")
        if self.purge_interval < 0 or self.tombstone_retention < 0 or self.changes_retention < 0:
            raise ValueError("purge interval and retentions cannot be negative")
        self.access_grants  # noqa: B018  # a bad grant fails here, before the service starts
        if self.grants.strip() and not self.auth_methods:
            # Without authentication every caller is anonymous, which no grant names.
            raise ValueError("--grant needs --auth: without it every caller holds every right")
        if any(m not in AUTH_METHODS for m in self.auth_methods):
            raise ValueError(f"auth must name tokens, jwt or both, not {self.auth!r}")
        if "jwt" in self.auth_methods and bool(self.jwt_secret) == bool(self.jwt_jwks):
            raise ValueError("--auth jwt needs exactly one of --jwt-secret and --jwt-jwks")
        if self.jwt_leeway < 0:
            raise ValueError("the JWT leeway cannot be negative")
        if self.log_format not in ("text", "json", "off"):
            raise ValueError(f"log_format must be text, json or off, not {self.log_format!r}")
        AllowedHosts(self.allowed_hosts)  # raises for a pattern that is not a host
        for origin in self.cors_origins:
            if not _ORIGIN.fullmatch(origin):
                raise ValueError(
                    f"{origin!r} is not an origin: give scheme://host[:port], such as "
                    "https://app.example.com, one per --cors-origin (no path, no wildcard)"
                )

    @property
    def access_grants(self) -> AccessRules:
        """The service's grants: those of `grants`, or admin=role:admin when none is set."""
        lines = [line for line in self.grants.splitlines() if line.strip()]
        return AccessRules.from_grants(lines or DEFAULT_GRANTS)

    @property
    def auth_methods(self) -> tuple[str, ...]:
        """The `auth` setting as a tuple of methods, () when callers are anonymous."""
        return tuple(m.strip() for m in self.auth.split(",") if m.strip())

    def to_env(self) -> dict[str, str]:
        """The settings as environment variables, for worker processes."""
        return {_PREFIX + f.name.upper(): _env_value(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> ServiceConfig:
        """Read the settings from HTTPCONFLICT_* variables; unset ones keep defaults."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get(_PREFIX + f.name.upper())
            if raw is None:
                continue
            if f.type in ("int", int):
                values[f.name] = int(raw)
            elif f.type in ("float", float):
                values[f.name] = float(raw)
            elif f.type in ("bool", bool):
                values[f.name] = raw.strip().lower() in ("1", "true", "yes", "on")
            elif str(f.type).startswith("tuple"):
                values[f.name] = tuple(json.loads(raw))
            else:
                values[f.name] = raw
        return cls(**values)  # type: ignore[arg-type]  # names and types come from fields()


def _env_value(value: object) -> str:
    # A list travels as JSON: a host or an origin could hold any separator.
    return json.dumps(list(value)) if isinstance(value, tuple) else str(value)
