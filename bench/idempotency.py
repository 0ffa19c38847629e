"""Idempotency-Key cost and correctness, side by side with a peer.

    python -m bench.idempotency [--duration S] [--rounds N] [--connections C] [--write-docs]

1. The service's POST /v1/{c} on SQLite: without a key, with a new key per
   request (keys beside the documents, recorded in the same transaction),
   with a new key per request kept in Redis, and replays (one key per
   connection, so all but its first request are replays).
2. The service's PUT with If-Match on SQLite, one document per connection
   (bench/put.lua): without a key, and with a new key per request
   (bench/put_keyed.lua). Then POST and PUT again on PostgreSQL.
3. The middleware scenario: the same small FastAPI orders app (one SQLite
   INSERT per order) bare, behind httpconflict's IdempotencyMiddleware, and
   behind fastapi-idempotency, each with its in-memory store: new keys, and
   replays.
4. 50 concurrent identical keyed POSTs against each: how many side effects.

Exits 1 if more than 1% of answers are not 2xx, or if a 50-duplicate burst
made more than one side effect on any httpconflict contender.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Final
from urllib.parse import quote

import httpx
from redis import Redis
from redis.exceptions import RedisError

from .report import Row, table, write_results
from .rounds import Contender, environment, exit_on_sigterm, measure, parse_args
from .servers import PROJECT, Server, free_port, running, service_command

DOCS: Final = PROJECT / "docs" / "benchmarks.md"
HEADING: Final = "## Results: Idempotency-Key"
REDIS: Final = "redis://127.0.0.1:6379/0"
POSTGRES: Final = "postgresql://postgres@127.0.0.1:5432/test"
GOAL: Final = 0.85
BURST: Final = 50
DOC: Final = "/v1/bench-put/doc"


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(
        argv,
        "python -m bench.idempotency",
        "POST with and without Idempotency-Key, replays, and a peer middleware.",
    )
    signal.signal(signal.SIGTERM, exit_on_sigterm)
    try:
        Redis.from_url(REDIS, socket_connect_timeout=3).ping()
    except RedisError as error:
        raise SystemExit(f"Redis must answer at {REDIS} for this benchmark: {error}") from error
    with tempfile.TemporaryDirectory(prefix="httpconflict-bench-") as tmp, ExitStack() as stack:
        work = Path(tmp)

        def start(name: str, command: list[str], port: int, env: dict[str, str]) -> Server:
            db = work / f"{name}.db"
            return stack.enter_context(
                running(
                    name,
                    command,
                    db=db,
                    port=port,
                    log_dir=work,
                    env=env,
                    discard_stdout=True,
                )
            )

        def service(name: str, *extra: str, db: str | None = None) -> Server:
            port = free_port()
            command = [*service_command(work / f"{name}.db", port, "off"), *extra]
            if db is not None:
                command[command.index("--db") + 1] = db
            return start(name, command, port, {})

        def orders(name: str, middleware: str) -> Server:
            port = free_port()
            command = [sys.executable, "-m", "uvicorn", "bench.orders_app:app", "--port", str(port)]
            command += ["--host", "127.0.0.1", "--no-access-log", "--http", "httptools"]
            env = {"ORDERS_DB": str(work / f"{name}.db"), "ORDERS_MIDDLEWARE": middleware}
            return start(name, command, port, env)

        db_keys = service("service-keys-in-db")
        redis_keys = service("service-keys-in-redis", "--idempotency", REDIS)
        pg_keys = service("service-postgres", db=stack.enter_context(_postgres_schema()))
        bare = orders("orders-bare", "none")
        ours = orders("orders-httpconflict", "httpconflict")
        peer = orders("orders-fastapi-idempotency", "peer")

        post, scenario = "Service POST (SQLite)", "FastAPI orders app + middleware"
        put, pg_post, pg_put = (
            "Service PUT If-Match (SQLite)",
            "Service POST (PostgreSQL)",
            "Service PUT If-Match (PostgreSQL)",
        )
        n = options.connections
        contenders = [
            Contender(post, "no key", db_keys, "post.lua", _args("/v1/bench", "none")),
            Contender(
                post,
                "new key each, keys in the db",
                db_keys,
                "post.lua",
                _args("/v1/bench", "unique"),
            ),
            Contender(
                post,
                "new key each, keys in Redis",
                redis_keys,
                "post.lua",
                _args("/v1/bench", "unique"),
            ),
            Contender(
                post, "replays (keys in the db)", db_keys, "post.lua", _args("/v1/bench", "same")
            ),
            Contender(put, "PUT, no key", db_keys, "put.lua", _put_args(db_keys, n)),
            Contender(
                put,
                "PUT, new key each, keys in the db",
                db_keys,
                "put_keyed.lua",
                _put_args(db_keys, n),
            ),
            Contender(pg_post, "PG POST, no key", pg_keys, "post.lua", _args("/v1/bench", "none")),
            Contender(
                pg_post, "PG POST, new key each", pg_keys, "post.lua", _args("/v1/bench", "unique")
            ),
            Contender(pg_put, "PG PUT, no key", pg_keys, "put.lua", _put_args(pg_keys, n)),
            Contender(
                pg_put, "PG PUT, new key each", pg_keys, "put_keyed.lua", _put_args(pg_keys, n)
            ),
            Contender(scenario, "no middleware", bare, "post.lua", _args("/orders", "none")),
            Contender(
                scenario, "httpconflict, new key each", ours, "post.lua", _args("/orders", "unique")
            ),
            Contender(
                scenario,
                "fastapi-idempotency, new key each",
                peer,
                "post.lua",
                _args("/orders", "unique"),
            ),
            Contender(
                scenario, "httpconflict, replays", ours, "post.lua", _args("/orders", "same")
            ),
            Contender(
                scenario, "fastapi-idempotency, replays", peer, "post.lua", _args("/orders", "same")
            ),
        ]
        runs = measure(contenders, options)
        bursts = {
            "httpconflict service, keys in the db": _burst(db_keys, "/v1/burst-db", _service_count),
            "httpconflict service, keys in Redis": _burst(
                redis_keys, "/v1/burst-redis", _service_count
            ),
            "httpconflict IdempotencyMiddleware": _burst(ours, "/orders", _orders_count),
            "fastapi-idempotency": _burst(peer, "/orders", _orders_count),
        }

    rows: list[Row] = []
    for c in contenders:
        reference = next((row for row in rows if row.test == c.test), None)
        rows.append(Row(c.test, c.label, runs[c.label][1:], reference))
    report = _report(rows, options, bursts)
    print(report)
    if options.write_docs:
        write_results(DOCS, report, heading=HEADING)
        print(f"\nwrote the results into {DOCS.relative_to(PROJECT)}", file=sys.stderr)
    return _verdict(rows, bursts)


def _args(path: str, mode: str) -> Callable[[], list[str]]:
    return lambda: [path, mode, uuid.uuid4().hex[:12]]


def _put_args(server: Server, n: int) -> Callable[[], list[str]]:
    """put.lua's arguments: each connection's document (made if missing) and its ETag now."""

    def args() -> list[str]:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            etags = []
            for k in range(n):
                url = f"{DOC}{k}"
                answer = client.get(url)
                if answer.status_code == 404:
                    answer = client.put(url, json={"run": 0}, headers={"If-None-Match": "*"})
                answer.raise_for_status()
                etags.append(answer.headers["etag"])
        return [DOC, uuid.uuid4().hex[:12], *etags]

    return args


@contextmanager
def _postgres_schema() -> Iterator[str]:
    """A fresh schema on the local PostgreSQL, as a URL the service takes; dropped after."""
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{POSTGRES}?options={quote(f'-csearch_path={schema}')}"
    finally:
        with psycopg.connect(POSTGRES, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def _service_count(client: httpx.Client, path: str) -> int:
    return len(client.get(path, params={"limit": 1000}).json()["items"])


def _orders_count(client: httpx.Client, path: str) -> int:
    count: int = client.get(f"{path}/count").json()["count"]
    return count


def _burst(
    server: Server, path: str, count: Callable[[httpx.Client, str], int]
) -> tuple[dict[int, int], int]:
    """Send BURST identical keyed POSTs at once: (answers by status, side effects)."""
    key = f'"burst-{uuid.uuid4()}"'
    body = b'{"item": "tea", "burst": true}'
    headers = {"Content-Type": "application/json", "Idempotency-Key": key}

    async def one(client: httpx.AsyncClient) -> int:
        return (await client.post(path, content=body, headers=headers)).status_code

    async def all_at_once() -> list[int]:
        limits = httpx.Limits(max_connections=BURST)
        async with httpx.AsyncClient(base_url=server.url, timeout=60, limits=limits) as client:
            return await asyncio.gather(*(one(client) for _ in range(BURST)))

    with httpx.Client(base_url=server.url, timeout=10) as client:
        before = count(client, path)
        statuses = asyncio.run(all_at_once())
        after = count(client, path)
    by_status: dict[int, int] = {}
    for status in statuses:
        by_status[status] = by_status.get(status, 0) + 1
    return by_status, after - before


def _report(
    rows: Sequence[Row], options: argparse.Namespace, bursts: dict[str, tuple[dict[int, int], int]]
) -> str:
    _, db, redis, replay, _, put, _, pg_post, _, pg_put, _, ours, peer, ours_replay, peer_replay = (
        rows
    )

    def goal(row: Row) -> str:
        verdict = "meets" if row.ratio() >= GOAL else "BELOW"
        return f"**{row.ratio():.2f}x** ({verdict} the {GOAL}x goal)"

    burst_lines = [
        f"| {name} | {', '.join(f'{s}: {n}' for s, n in sorted(statuses.items()))} | {effects} |"
        for name, (statuses, effects) in bursts.items()
    ]
    return "\n".join(
        [
            environment(options, "starlette", "fastapi", "uvicorn", "redis", "fastapi-idempotency"),
            "",
            table(rows),
            "",
            f"- Keyed / unkeyed, keys beside the documents: SQLite POST {goal(db)},"
            f" PUT {goal(put)}; PostgreSQL POST {goal(pg_post)}, PUT {goal(pg_put)};"
            f" POST with keys in Redis: {redis.ratio():.2f}x; replays: {replay.ratio():.2f}x.",
            f"- Middleware with new keys / bare app: httpconflict {ours.ratio():.2f}x,"
            f" fastapi-idempotency {peer.ratio():.2f}x; replays: httpconflict"
            f" {ours_replay.ratio():.2f}x, fastapi-idempotency {peer_replay.ratio():.2f}x.",
            "",
            f"{BURST} identical keyed POSTs sent at once (one key, one body):",
            "",
            "| contender | answers by status | side effects |",
            "|---|---|---:|",
            *burst_lines,
        ]
    )


def _verdict(rows: Sequence[Row], bursts: dict[str, tuple[dict[int, int], int]]) -> int:
    failures = [
        f"{row.label}: {row.bad:,} answers other than 201 in {row.requests:,}"
        for row in rows
        if row.requests == 0 or row.bad > 0.01 * row.requests
    ]
    failures += [
        f"{name}: {effects} side effects from one key"
        for name, (_, effects) in bursts.items()
        if name.startswith("httpconflict") and effects != 1
    ]
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
