"""The `httpconflict` command."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import logging
import os
import socket
import sys
from collections.abc import Callable, Sequence
from typing import Any, Final

from . import Unavailable
from .extras import EXTRA_OF, missing_extra_message, require
from .hosts import ANY_HOST, host_patterns, is_loopback
from .redaction import redact, secrets_in
from .service.config import (
    AUTH_METHODS,
    DEFAULT_BODY_TIMEOUT,
    DEFAULT_CHANGES_RETENTION,
    DEFAULT_DB,
    DEFAULT_HEADER_TIMEOUT,
    DEFAULT_JWT_LEEWAY,
    DEFAULT_KEEP_ALIVE,
    DEFAULT_MAX_ANSWER_MEMORY,
    DEFAULT_MAX_BODY,
    DEFAULT_MAX_BODY_MEMORY,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_HEADER_BYTES,
    DEFAULT_PURGE_INTERVAL,
    DEFAULT_TOMBSTONE_RETENTION,
    WORKER_HEALTHCHECK_TIMEOUT,
    ServiceConfig,
)
from .service.locations import PRIVATE_SQLITE, check_database, check_key_store
from .storage import (
    DEFAULT_HISTORY,
    DEFAULT_PG_STATEMENT_TIMEOUT,
    DEFAULT_SQLITE_BUSY_TIMEOUT,
    DocumentStore,
    document_store,
)
from .storage.idempotency import (
    DEFAULT_LEASE,
    DEFAULT_RETENTION,
    IdempotencyStore,
    idempotency_store,
)
from .storage.idempotency.cache import replay_cache
from .storage.tokens import TokenStore, token_store
from .tools import register_all as register_tools
from .tools._arguments import host, name, port, seconds, whole_number
from .tools._output import FAILED, USAGE

__all__ = [
    "main",
]


def register_token_command(commands: argparse._SubParsersAction[Any]) -> None:
    from .service.token_command import register

    register(commands)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="httpconflict",
        description="HTTP APIs that never lose an update: the document service and tools.",
    )
    parser.add_argument("--version", action=_VersionAction)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser(
        "serve",
        help="run the JSON document service",
        description="Run the JSON document service (SQLite by default).",
    )
    serve.add_argument(
        "--db",
        default=DEFAULT_DB,
        help=f"SQLite file or postgresql:// URL (default: ./{DEFAULT_DB})",
    )
    serve.add_argument(
        "--host", type=host, default="127.0.0.1", help="address to listen on (default: 127.0.0.1)"
    )
    serve.add_argument("--port", type=port, default=8000, help="port to listen on (default: 8000)")
    serve.add_argument(
        "--workers",
        type=whole_number(1, MAX_WORKERS),
        default=1,
        help="worker processes sharing the database (default: 1)",
    )
    serve.add_argument(
        "--history",
        type=whole_number(1),
        default=DEFAULT_HISTORY,
        help=f"versions kept per document (default: {DEFAULT_HISTORY})",
    )
    serve.add_argument(
        "--sqlite-busy-timeout",
        type=seconds(),
        default=DEFAULT_SQLITE_BUSY_TIMEOUT,
        metavar="SECONDS",
        help="how long a write waits for the SQLite file's lock, held by another process, "
        f"before its 503 (default: {DEFAULT_SQLITE_BUSY_TIMEOUT:g})",
    )
    serve.add_argument(
        "--pg-statement-timeout",
        type=seconds(),
        default=DEFAULT_PG_STATEMENT_TIMEOUT,
        metavar="SECONDS",
        help="how long a PostgreSQL statement may take before its connection is cut: 503 "
        "for a read, 504 for a write (a database frozen or cut off) "
        f"(default: {DEFAULT_PG_STATEMENT_TIMEOUT:g})",
    )
    serve.add_argument(
        "--pg-group-commit",
        choices=("on", "off"),
        default="off",
        help="on PostgreSQL, send the If-Match PUTs that arrive while 2 statements are at "
        "the database together, in one statement, each checked on its own: less database "
        "CPU per write where the database is the bottleneck (default: off)",
    )
    serve.add_argument(
        "--max-body",
        type=whole_number(1),
        default=DEFAULT_MAX_BODY,
        help=f"largest request body in bytes (default: {DEFAULT_MAX_BODY})",
    )
    serve.add_argument(
        "--blind-writes",
        action="store_true",
        help="accept PUT/DELETE without If-Match on existing documents (last writer wins: "
        "updates can be lost; for demonstrations and migrations only)",
    )
    serve.add_argument(
        "--log-format",
        choices=("text", "json", "off"),
        default="text",
        help="access log format on stdout (default: text)",
    )
    limits = serve.add_argument_group("connections (each limit per worker)")
    limits.add_argument(
        "--max-header-bytes",
        type=whole_number(1),
        default=DEFAULT_MAX_HEADER_BYTES,
        metavar="BYTES",
        help="largest request line and header fields, together; 431 above "
        f"(default: {DEFAULT_MAX_HEADER_BYTES})",
    )
    limits.add_argument(
        "--header-timeout",
        type=seconds(),
        default=DEFAULT_HEADER_TIMEOUT,
        metavar="SECONDS",
        help=f"time for a request's head to arrive whole; 408 after (default: "
        f"{DEFAULT_HEADER_TIMEOUT:g})",
    )
    limits.add_argument(
        "--body-timeout",
        type=seconds(),
        default=DEFAULT_BODY_TIMEOUT,
        metavar="SECONDS",
        help=f"time for a request's body to arrive whole after its head, 408 after; and for a "
        f"client to take some of its answers, its connection cut after (default: "
        f"{DEFAULT_BODY_TIMEOUT:g})",
    )
    limits.add_argument(
        "--keep-alive",
        type=whole_number(1),
        default=DEFAULT_KEEP_ALIVE,
        metavar="SECONDS",
        help="how long an idle connection stays open for its next request; behind a load "
        "balancer, more than the balancer's idle timeout, else it may send a request on a "
        f"connection being closed (default: {DEFAULT_KEEP_ALIVE})",
    )
    limits.add_argument(
        "--max-connections",
        type=whole_number(1),
        default=DEFAULT_MAX_CONNECTIONS,
        metavar="N",
        help=f"open connections a worker serves; 503 beyond (default: {DEFAULT_MAX_CONNECTIONS})",
    )
    limits.add_argument(
        "--max-body-memory",
        type=whole_number(1),
        default=DEFAULT_MAX_BODY_MEMORY,
        metavar="BYTES",
        help="bytes of request bodies a worker holds at once (each body's first 64 KiB not "
        "counted); a body that would pass it gets 503 with Retry-After (default: "
        f"{DEFAULT_MAX_BODY_MEMORY})",
    )
    limits.add_argument(
        "--max-answer-memory",
        type=whole_number(1),
        default=DEFAULT_MAX_ANSWER_MEMORY,
        metavar="BYTES",
        help="bytes of answers a worker holds for clients that take them more slowly than they "
        "come; past it, connections whose clients took less than 16 KiB in the last second "
        "are cut (those whose writes, if any, applied nothing), then a new large GET answer "
        "gets 503 with "
        f"Retry-After (default: {DEFAULT_MAX_ANSWER_MEMORY})",
    )
    _add_auth_arguments(serve)
    exposure = serve.add_argument_group("who may reach the service")
    exposure.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="HOST",
        help="a host name requests may name in Host, besides the loopback names and --host "
        "(any port, or name:port; *.example.com for every name under it); others get 421. "
        f"{ANY_HOST!r} allows any: only behind a proxy that checks the Host itself",
    )
    exposure.add_argument(
        "--cors-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="an origin (https://app.example.com) whose web pages may call the service "
        "from a browser (CORS); none by default",
    )
    exposure.add_argument(
        "--allow-unauthenticated",
        action="store_true",
        help="listen on an address other machines reach without authentication: ANYONE who "
        "reaches it can read, write and delete every document (refused without this flag)",
    )
    keys = serve.add_argument_group("idempotency keys (POST, PUT, PATCH, DELETE)")
    keys.add_argument(
        "--idempotency",
        default="db",
        metavar="STORE",
        help="where resends are answered from: db (the documents' database, where each answer is "
        "recorded in its write's own transaction; default), or that plus a replay cache in "
        "front: redis://host:port/n, memory, postgresql://..., a SQLite file (sqlite:///keys.db "
        "or ./keys.db), which answers resends without the database and may be lost without "
        "harm; or off",
    )
    keys.add_argument(
        "--idempotency-required", action="store_true", help="answer 400 to a POST without a key"
    )
    keys.add_argument(
        "--idempotency-lease",
        type=seconds(),
        default=DEFAULT_LEASE,
        metavar="SECONDS",
        help="not used by the service's writes, kept for old command lines: they claim "
        f"nothing, their answer is recorded with them (default: {DEFAULT_LEASE:g})",
    )
    keys.add_argument(
        "--idempotency-wait",
        type=seconds(zero=True),
        default=0.0,
        metavar="SECONDS",
        help="not used by the service's writes, kept for old command lines: a duplicate in "
        "flight waits for the first's transaction and gets its answer (default: 0)",
    )
    keys.add_argument(
        "--idempotency-retention",
        type=seconds(),
        default=DEFAULT_RETENTION,
        metavar="SECONDS",
        help=f"how long answers are replayed (default: {DEFAULT_RETENTION:g})",
    )
    erasure = serve.add_argument_group("erasure")
    erasure.add_argument(
        "--purge-interval",
        type=seconds(zero=True),
        default=DEFAULT_PURGE_INTERVAL,
        metavar="SECONDS",
        help="how often old tombstones and expired idempotency keys are purged; 0: never "
        f"(default: {DEFAULT_PURGE_INTERVAL:g})",
    )
    erasure.add_argument(
        "--tombstone-retention",
        type=seconds(zero=True),
        default=DEFAULT_TOMBSTONE_RETENTION,
        metavar="SECONDS",
        help="how long a deleted document's tombstone and history are kept "
        f"(default: {DEFAULT_TOMBSTONE_RETENTION:.0f}, 30 days)",
    )
    erasure.add_argument(
        "--changes-retention",
        type=seconds(zero=True),
        default=DEFAULT_CHANGES_RETENTION,
        metavar="SECONDS",
        help="how long the change feed (GET /v1/{collection}/_changes) keeps each change; "
        f"an older since gets 410 (default: {DEFAULT_CHANGES_RETENTION:g}, 7 days)",
    )
    serve.add_argument_group(
        "authorization (docs/security.md)",
        "Who holds which right (read, write, admin) on every collection, besides a "
        "collection's own access rules; with authentication on and no --grant: admin=role:admin.",
    ).add_argument(
        "--grant",
        action="append",
        default=[],
        metavar="RIGHT=GRANTEE",
        help="e.g. read=authenticated, write=role:writer, admin=token:ops; repeatable",
    )
    register_tools(commands)
    register_token_command(commands)
    args = parser.parse_args(argv)
    run: Callable[[argparse.Namespace], int] = _serve if args.command == "serve" else args.run
    try:
        return run(args)
    except BrokenPipeError:
        # The reader went away (`httpconflict logs --json ... | head`): what it
        # wanted was written. Python's documented way out: stdout to /dev/null, so
        # that the interpreter's own flush at exit raises nothing more.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return FAILED
    except OSError as error:
        if error.errno not in _FULL:
            raise
        # The output's disk is full (stdout redirected to a file, an --html page).
        print(f"httpconflict {args.command}: cannot write: {error.strerror}", file=sys.stderr)
        with contextlib.suppress(OSError):  # what is left in the buffer fails the same way
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1 if args.command == "serve" else FAILED
    except ModuleNotFoundError as error:
        # An optional dependency the command needs: one line naming its extra.
        extra = getattr(error, "extra", None) or EXTRA_OF.get((error.name or "").split(".")[0])
        if extra is None:
            raise
        print(missing_extra_message(f"httpconflict {args.command}", extra), file=sys.stderr)
        return 1 if args.command == "serve" else FAILED


#: The errors of a write to a disk that is full, or of a file past its limit.
_FULL: Final = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
#: More worker processes than this is a typo, not a machine.
MAX_WORKERS = 1024


def usage_error(command: str, message: str) -> int:
    """Print a usage error found after parsing, as argparse prints its own; exit status 2."""
    print(f"httpconflict {command}: error: {message}", file=sys.stderr)
    return USAGE


def _serve(args: argparse.Namespace) -> int:
    secrets = secrets_in(args.db) | secrets_in(args.idempotency) | {args.jwt_secret} - {""}
    try:
        config = _service_config(args)
    except ValueError as error:
        # A location quoted back may carry its password.
        return usage_error("serve", redact(str(error), secrets))
    require("uvicorn", "starlette", extra="service", user="httpconflict serve")
    try:
        _check_listening(args.host, args.port)
        # Open the database once here, so a wrong --db fails now with a
        # clear message instead of in every worker.
        cache_answers = asyncio.run(_check_database(config))
    except ImportError:
        raise  # a missing extra: main names it
    except Exception as error:  # report any failure to start as one line
        # A driver's message may quote the location it was given, password and all.
        print(f"httpconflict serve: {redact(str(error), secrets)}", file=sys.stderr)
        return 1

    import uvicorn

    os.environ.update(config.to_env())
    _allow_open_files(config.max_connections + _FILES_BESIDE_CONNECTIONS)
    print(
        f"httpconflict: serving {redact(config.db, secrets)} on http://{args.host}:{args.port} "
        f"with {args.workers} worker(s)",
        file=sys.stderr,
        flush=True,
    )
    if config.idempotency not in ("db", "off"):
        print(
            f"httpconflict: note: Idempotency-Keys are recorded in the database, in each "
            f"write's own transaction; {redact(config.idempotency, secrets)} is a replay cache "
            "in front of them, answering resends without the database (losing it loses no "
            "answer: docs/scaling.md)."
            + ("" if cache_answers else " It does not answer yet: the database answers alone."),
            file=sys.stderr,
            flush=True,
        )
    from .service.protocol import ProblemHttpToolsProtocol

    uvicorn.run(
        "httpconflict.service.app:create_app",
        http=ProblemHttpToolsProtocol,
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        access_log=False,
        log_config=_log_config(secrets),
        timeout_keep_alive=args.keep_alive,
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_TIMEOUT,
        server_header=False,
        # uvicorn's Date is refreshed once a second and lags the service's
        # Last-Modified; the service stamps its own (service.answer_fields).
        date_header=False,
    )
    return 0


def _service_config(args: argparse.Namespace) -> ServiceConfig:
    """The settings the arguments make; `ValueError` for any that cannot work together."""
    for option, location, check in (
        ("--db", args.db, check_database),
        ("--idempotency", args.idempotency, check_key_store),
    ):
        try:
            check(location)
        except ValueError as error:
            raise ValueError(f"{option} {error}") from None
    if args.jwt_jwks:
        from .service.jwt_auth import check_jwks

        try:
            check_jwks(args.jwt_jwks)
        except ValueError as error:
            raise ValueError(f"--jwt-jwks {args.jwt_jwks}: {error}") from None
    config = ServiceConfig(
        db=args.db,
        history=args.history,
        sqlite_busy_timeout=args.sqlite_busy_timeout,
        pg_statement_timeout=args.pg_statement_timeout,
        pg_group_commit=args.pg_group_commit == "on",
        max_body=args.max_body,
        blind_writes=args.blind_writes,
        log_format=args.log_format,
        idempotency=args.idempotency,
        idempotency_required=args.idempotency_required,
        idempotency_lease=args.idempotency_lease,
        idempotency_wait=args.idempotency_wait,
        idempotency_retention=args.idempotency_retention,
        max_header_bytes=args.max_header_bytes,
        header_timeout=args.header_timeout,
        body_timeout=args.body_timeout,
        max_connections=args.max_connections,
        max_body_memory=args.max_body_memory,
        max_answer_memory=args.max_answer_memory,
        purge_interval=args.purge_interval,
        tombstone_retention=args.tombstone_retention,
        changes_retention=args.changes_retention,
        grants="\n".join(args.grant),
        auth=",".join(args.auth),
        jwt_secret=args.jwt_secret,
        jwt_jwks=args.jwt_jwks,
        jwt_audience=args.jwt_audience,
        jwt_issuer=args.jwt_issuer,
        jwt_roles_claim=args.jwt_roles_claim,
        jwt_principal_claim=args.jwt_principal_claim,
        jwt_leeway=args.jwt_leeway,
        allowed_hosts=host_patterns(args.host, args.allowed_host),
        cors_origins=tuple(args.cors_origin),
    )
    _check_exposure(args, config)
    _check_shared(config, args.workers)
    return config


def _check_listening(host: str, port: int) -> None:
    """Raise `OSError` now if the server could not listen on `host`:`port` (in use, no such host).

    The socket is closed at once; the server binds its own with
    SO_REUSEADDR as this one does, so nothing is left in the way.
    """
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as error:
        reason = error.strerror or str(error)
        raise OSError(f"cannot listen on {host} port {port}: {reason}") from None


def _add_auth_arguments(serve: argparse.ArgumentParser) -> None:
    auth = serve.add_argument_group(
        "authentication (docs/security.md)",
        "Callers send Authorization: Bearer <API token or JWT>; without --auth every "
        "caller is anonymous.",
    )
    auth.add_argument(
        "--auth",
        action="append",
        choices=AUTH_METHODS,
        default=[],
        help="accept API tokens (httpconflict token create) and/or JWTs; repeat for both",
    )
    auth.add_argument(
        "--jwt-secret",
        default=os.environ.get("HTTPCONFLICT_JWT_SECRET", ""),
        metavar="SECRET",
        help="shared secret of HS256/384/512 JWTs (better: the HTTPCONFLICT_JWT_SECRET "
        "variable, which no process listing shows)",
    )
    auth.add_argument(
        "--jwt-jwks",
        default="",
        metavar="FILE_OR_URL",
        help="JWKS file or https:// URL of the public keys signing JWTs",
    )
    auth.add_argument("--jwt-audience", default="", help="the aud a JWT must name")
    auth.add_argument("--jwt-issuer", default="", help="the iss a JWT must name")
    auth.add_argument(
        "--jwt-roles-claim",
        type=name,
        default="roles",
        metavar="CLAIM",
        help="claim holding a JWT's roles: a list or space-separated string; dots nest, "
        "as in realm_access.roles (default: roles)",
    )
    auth.add_argument(
        "--jwt-principal-claim",
        type=name,
        default="sub",
        metavar="CLAIM",
        help="claim naming a JWT's principal, jwt:<value> (default: sub)",
    )
    auth.add_argument(
        "--jwt-leeway",
        type=seconds(zero=True),
        default=DEFAULT_JWT_LEEWAY,
        metavar="SECONDS",
        help=f"clock skew allowed for exp, nbf and iat (default: {DEFAULT_JWT_LEEWAY:g})",
    )


def _check_exposure(args: argparse.Namespace, config: ServiceConfig) -> None:
    """Refuse to serve every caller's rights to other machines unless told to.

    Without authentication every caller may do anything; on a loopback
    address only this machine's users can call (and the Host allow-list
    keeps web pages out), on any other address anyone who reaches it can.
    """
    if is_loopback(args.host) or config.auth_methods or args.allow_unauthenticated:
        return
    raise ValueError(
        f"--host {args.host} lets other machines call the service, and without "
        "authentication anyone who reaches it can read, write and delete every document: "
        "configure --auth, or pass --allow-unauthenticated to serve them all anyway"
    )


def _check_shared(config: ServiceConfig, workers: int) -> None:
    """Refuse a database that lives inside one process when several workers would each get one.

    Each worker would keep its own documents, blind to the others'. (Keys are
    recorded in the documents' database; a replay cache inside each worker,
    ``--idempotency memory``, is only a cache per worker.)
    """
    if workers <= 1:
        return
    if config.db in PRIVATE_SQLITE:
        raise ValueError(
            f"--db {config.db!r} is a database inside each worker process, and {workers} "
            "workers would each have their own: use a SQLite file path or a postgresql:// URL"
        )


#: Open files a worker needs besides its connections: the database, logs, pipes.
_FILES_BESIDE_CONNECTIONS = 100


def _allow_open_files(needed: int) -> None:
    """Raise the soft open-file limit toward `needed`, as far as the hard limit allows.

    Each connection is a file descriptor: with the usual soft limit (1024),
    --max-connections 1000 would run out of them before reaching the limit,
    and a server out of descriptors stops accepting anyone. Workers inherit
    the limit.
    """
    try:
        import resource
    except ImportError:  # not on Windows
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return
    target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


async def _check_database(config: ServiceConfig) -> bool:
    """Open every store once; whether the replay cache (if any) answers.

    A replay cache that does not answer is no reason not to start: the
    service does without it.
    """
    store = document_store(
        config.db,
        history=config.history,
        sqlite_busy_timeout=config.sqlite_busy_timeout,
        pg_statement_timeout=config.pg_statement_timeout,
    )
    await _opened(store)
    cache_answers = True
    try:
        if config.idempotency != "off":
            keys = idempotency_store("db", documents=store)
            await _opened(keys)
            await keys.close()
        if config.idempotency not in ("db", "off"):
            cache = replay_cache(config.idempotency)
            try:
                await _opened(cache.store)
            except RuntimeError:  # _opened's words for a store that does not answer
                cache_answers = False
            await cache.close()
        if "tokens" in config.auth_methods:
            tokens = token_store(config.db)
            await _opened(tokens)
            await tokens.close()
    finally:
        await store.close()
    return cache_answers


async def _opened(store: DocumentStore | IdempotencyStore | TokenStore) -> None:
    """Open `store`; a store that does not answer fails the start with the driver's words.

    Its incident line (what a request's 503 would name) is not logged: the
    one line the start prints says it all.
    """
    incidents = logging.getLogger("httpconflict")
    level = incidents.level
    incidents.setLevel(logging.ERROR)
    try:
        await store.open()
    except Unavailable as error:
        raise RuntimeError(f"{error.problem.detail}: {error.__cause__}") from error
    finally:
        incidents.setLevel(level)


def _log_config(secrets: frozenset[str]) -> dict[str, Any]:
    """Every log line, the service's and its libraries', through one handler masking passwords."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": {"format": "%(levelname)s %(name)s: %(message)s"}},
        "filters": {
            "redact": {"()": "httpconflict.redaction.RedactingFilter", "secrets": sorted(secrets)}
        },
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "filters": ["redact"],
                "stream": "ext://sys.stderr",
            },
        },
        # Drivers' warnings (psycopg's pool, redis) too, rather than through
        # logging's last-resort handler, which masks nothing.
        "root": {"handlers": ["default"], "level": "WARNING"},
        "loggers": {
            "httpconflict": {"handlers": ["default"], "level": "INFO", "propagate": False},
            "uvicorn": {"handlers": ["default"], "level": "INFO", "propagate": False},
            "uvicorn.error": {"level": "INFO"},
        },
    }


class _VersionAction(argparse._VersionAction):
    """``--version``, whose number is looked up only when it is asked for.

    Looking it up imports importlib.metadata and reads the installed
    distributions: 0.04-0.06 s of CPU, which every start of the service and
    every other command paid to build the parser before.
    """

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        self.version = f"%(prog)s {_version()}"
        super().__call__(parser, *args, **kwargs)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("httpconflict")
    except PackageNotFoundError:
        return "0+unknown"


if __name__ == "__main__":
    sys.exit(main())
