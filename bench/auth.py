"""Authenticated If-Match PUT (API token, HS256 JWT) vs the same PUT unauthenticated.

    python -m bench.auth [--duration S] [--rounds N] [--connections C] [--write-docs]

Starts two services on SQLite (one worker, no access log): one without
authentication, one with ``--auth tokens --auth jwt --jwt-secret ...``,
where every authenticated caller may write. An API token is made with
`httpconflict token create`, a JWT signed with PyJWT. wrk (bench/put.lua,
bench/put_auth.lua) runs each contender `--rounds` times, interleaved, and
the table gives the median req/s and the ratio to the unauthenticated PUT
(goal: >= 0.9x). Exits 1 if more than 1% of any contender's answers had an
unexpected status.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Final

import httpx
import jwt

from httpconflict.service.app import create_app
from httpconflict.service.config import ServiceConfig

from .asgi_puts import cpu_per_put
from .report import Row, cpu_table, table, write_results
from .rounds import Contender, environment, exit_on_sigterm, measure, parse_args, verdict
from .servers import PROJECT, Server, free_port, running, service_command
from .wrk import require_wrk

DOCS: Final = PROJECT / "docs" / "benchmarks.md"
HEADING: Final = "## Authentication"


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(
        argv, "python -m bench.auth", "Authenticated PUT (API token, JWT) vs unauthenticated."
    )
    require_wrk()
    signal.signal(signal.SIGTERM, exit_on_sigterm)  # so the servers get stopped
    n = options.connections
    secret = secrets.token_urlsafe(32)
    with tempfile.TemporaryDirectory(prefix="httpconflict-bench-") as tmp, ExitStack() as stack:
        work = Path(tmp)

        def service(name: str, *extra: str) -> Server:
            db, port = work / f"{name}.db", free_port()
            command = [*service_command(db, port, "off"), *extra]
            return stack.enter_context(
                running(name, command, db=db, port=port, log_dir=work, discard_stdout=True)
            )

        plain = service("open")
        auth_db = work / "auth.db"
        token = _create_token(auth_db)
        authed = service(
            "auth",
            *("--auth", "tokens", "--auth", "jwt", "--jwt-secret", secret),
            *("--grant", "write=authenticated"),
        )
        claims = {"sub": "bench", "exp": int(time.time()) + 3600}
        bearer_jwt = "Bearer " + jwt.encode(claims, secret, algorithm="HS256")
        bearer_token = "Bearer " + token
        _create(plain, n, "/v1/bench/open-", None)
        _create(authed, n, "/v1/bench/token-", bearer_token)
        _create(authed, n, "/v1/bench/jwt-", bearer_jwt)

        test = "If-Match PUT (SQLite), no access log"
        contenders = [
            Contender(
                test, "unauthenticated", plain, "put.lua", _args(plain, n, "/v1/bench/open-", None)
            ),
            Contender(
                test,
                "API token",
                authed,
                "put_auth.lua",
                _args(authed, n, "/v1/bench/token-", bearer_token),
            ),
            Contender(
                test,
                "JWT HS256",
                authed,
                "put_auth.lua",
                _args(authed, n, "/v1/bench/jwt-", bearer_jwt),
            ),
        ]
        cpu: dict[str, list[float]] = {}
        runs = measure(contenders, options, cpu=cpu)
        in_app = asyncio.run(_in_app(work, secret, token, options.rounds))

    rows: list[Row] = []
    for c in contenders:
        reference = next((row for row in rows if row.test == c.test), None)
        rows.append(Row(c.test, c.label, runs[c.label][1:], reference))
    report = "\n".join(
        [
            HEADING,
            "",
            "`python -m bench.auth`: the same If-Match PUT with no credential, an API token "
            "(one indexed lookup, then kept 1 s per worker) and an HS256 JWT; "
            "goal >= 0.9x.",
            "",
            table(rows),
            "",
            "Server CPU time per request (the service's process, from /proc), the "
            "measure that drifts least on a shared machine:",
            "",
            cpu_table(cpu, "unauthenticated"),
            "",
            f"The app alone: {IN_APP_PUTS:,} If-Match PUTs called straight into its ASGI "
            "app per round (no network, no wrk), CPU µs per PUT, rounds interleaved:",
            "",
            cpu_table(in_app, "unauthenticated", "app CPU µs/PUT"),
            "",
            environment(options, "uvicorn", "starlette", "pyjwt"),
        ]
    )
    print(report)
    if options.write_docs:
        write_results(DOCS, report, heading=HEADING)
        print(f"\nwrote the results into {DOCS.relative_to(PROJECT)}", file=sys.stderr)
    return verdict(runs, {}, {})


#: PUTs per round of the in-app measurement.
IN_APP_PUTS: Final = 3000


async def _in_app(work: Path, secret: str, token: str, rounds: int) -> dict[str, list[float]]:
    """App CPU µs per PUT of each contender, `rounds` rounds interleaved (`asgi_puts`)."""
    base = dataclasses.replace(ServiceConfig.from_env(), log_format="off")
    authed = dataclasses.replace(
        base, auth="tokens,jwt", jwt_secret=secret, grants="write=authenticated"
    )
    claims = {"sub": "bench-in-app", "exp": int(time.time()) + 3600}
    contenders = {
        "unauthenticated": (dataclasses.replace(base, db=str(work / "app-open.db")), []),
        "API token": (
            dataclasses.replace(authed, db=str(work / "auth.db")),
            [(b"authorization", f"Bearer {token}".encode())],
        ),
        "JWT HS256": (
            dataclasses.replace(authed, db=str(work / "app-jwt.db")),
            [(b"authorization", f"Bearer {jwt.encode(claims, secret)}".encode())],
        ),
    }
    runs = {
        label: cpu_per_put(create_app(config), credential, IN_APP_PUTS)
        for label, (config, credential) in contenders.items()
    }
    found: dict[str, list[float]] = {label: [] for label in runs}
    try:
        for _ in range(rounds):
            for label, run in runs.items():
                found[label].append(await anext(run))
    finally:
        for run in runs.values():
            await run.aclose()
    return found


def _create_token(db: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "httpconflict.cli", "token", "create", "bench", "--db", str(db)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout.strip()


def _headers(authorization: str | None) -> dict[str, str]:
    return {} if authorization is None else {"Authorization": authorization}


def _create(server: Server, n: int, prefix: str, authorization: str | None) -> None:
    with httpx.Client(base_url=server.url, timeout=10, headers=_headers(authorization)) as client:
        for k in range(n):
            body = json.dumps({"title": "benchmark document", "writer": k, "write": 0})
            answer = client.put(
                f"{prefix}{k}",
                content=body,
                headers={"Content-Type": "application/json", "If-None-Match": "*"},
            )
            if answer.status_code != 201:
                raise RuntimeError(f"creating {prefix}{k}: {answer.status_code} {answer.text}")


def _args(
    server: Server, n: int, prefix: str, authorization: str | None
) -> Callable[[], list[str]]:
    def args() -> list[str]:
        with httpx.Client(
            base_url=server.url, timeout=10, headers=_headers(authorization)
        ) as client:
            etags = [client.get(f"{prefix}{k}").headers["etag"] for k in range(n)]
        head = [] if authorization is None else [authorization]
        return [*head, prefix, uuid.uuid4().hex[:12], *etags]

    return args


if __name__ == "__main__":
    sys.exit(main())
