"""httpconflict's adapters vs two peers: do concurrent read-modify-writes lose updates?

    python -m bench.peers [--duration S] [--rounds N] [--connections C] [--warmup S]

The peers, each on the scenario of bench/adapters.py (PUT of a note, one
worker, its own fresh SQLite file), written as their documentation shows
(bench/peer_apps/):

- fastapi-etag 0.4 with FastAPI + SQLAlchemy: its ``Etag`` dependency checks
  If-Match against a separate read before the handler updates the note;
- django-concurrency with Django REST framework: an ``IntegerVersionField``,
  the version sent back in the body, ``RecordModifiedError`` answered 409.

Against them, httpconflict's FastAPI and Django adapter apps
(bench/adapter_apps/, If-Match checked in the UPDATE), and as a control the
FastAPI app's plain side (no precondition at all), which shows the hammer
does find lost updates where there is nothing to stop them.

1. The hammer: CLIENTS concurrent clients (one connection each) add 1 to
   note 0's ``count`` INCREMENTS times each: GET the note, PUT count + 1 with
   the peer's precondition (If-Match with the ETag read, or the version read
   in the body), and on 409 or 412 start again from the GET. Lost updates =
   successful writes - final count: a write answered 2xx whose increment is
   not in the final count was overwritten by a write that had read before it.
2. The PUT's requests/s under wrk (one note per connection, so no
   conflicts), each peer next to httpconflict's adapter for its framework, in
   interleaved rounds as bench/adapters.py runs them (bench/rounds.py).

Exits 1 if a wrk contender answered more than 1% unexpectedly. Lost updates
do not fail the run: finding them is what it is for.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

import httpx

from .adapters import FRAMEWORKS, settled_versions
from .report import Row, table, write_results
from .rounds import Contender, environment, exit_on_sigterm, measure, parse_args, verdict
from .servers import HOST, PROJECT, Server, free_port, running
from .wrk import require_wrk

DOCS: Final = PROJECT / "docs" / "benchmarks.md"
HEADING: Final = "## Results: peers"
CLIENTS: Final = 16
INCREMENTS: Final = 10
#: Attempts per increment before a client gives up (a livelock would show here).
MAX_ATTEMPTS: Final = 1000

#: How a peer's client says which version it read.
Precondition = Literal["if-match", "none", "body-version"]


@dataclass(frozen=True, slots=True)
class Peer:
    """One app under the hammer: how to serve it and how its clients write."""

    test: str
    label: str
    command: Callable[[int], list[str]]
    precondition: Precondition
    table: str
    #: The ETag of version v, as the app sends it (for wrk's first If-Match).
    etag: str = '"{}"'
    side: str = "adapter"

    def path(self, note: int) -> str:
        # DRF's router wants the trailing slash.
        return f"/notes/{note}/" if self.precondition == "body-version" else f"/notes/{note}"


def _uvicorn(target: str, *extra: str) -> Callable[[int], list[str]]:
    return lambda port: [
        *(sys.executable, "-m", "uvicorn", target, "--host", HOST, "--port", str(port)),
        *("--workers", "1", "--http", "httptools", "--no-access-log", *extra),
    ]


_FASTAPI, _DJANGO = FRAMEWORKS[0], FRAMEWORKS[2]
FASTAPI_TEST: Final = "FastAPI + SQLAlchemy, uvicorn"
DJANGO_TEST: Final = "Django, uvicorn (ASGI)"

PLAIN: Final = Peer(
    FASTAPI_TEST, "FastAPI plain UPDATE (control)", _FASTAPI.command, "none", "notes", side="plain"
)
FASTAPI_HTTPCONFLICT: Final = Peer(
    FASTAPI_TEST, "FastAPI httpconflict If-Match PUT", _FASTAPI.command, "if-match", "notes"
)
FASTAPI_ETAG: Final = Peer(
    FASTAPI_TEST,
    "fastapi-etag If-Match PUT",
    _uvicorn("bench.peer_apps.fastapi_etag_app:app"),
    "if-match",
    "notes",
    etag='W/"{}"',
)
DJANGO_HTTPCONFLICT: Final = Peer(
    DJANGO_TEST, "Django httpconflict If-Match PUT", _DJANGO.command, "if-match", _DJANGO.table
)
DJANGO_CONCURRENCY: Final = Peer(
    DJANGO_TEST,
    "DRF + django-concurrency PUT (version in body)",
    _uvicorn("bench.peer_apps.django_concurrency_app:application", "--lifespan", "off"),
    "body-version",
    "peer_apps_note",
)
PEERS: Final = (PLAIN, FASTAPI_HTTPCONFLICT, FASTAPI_ETAG, DJANGO_HTTPCONFLICT, DJANGO_CONCURRENCY)
#: wrk pairs: (reference, peer).
PAIRS: Final = ((FASTAPI_HTTPCONFLICT, FASTAPI_ETAG), (DJANGO_HTTPCONFLICT, DJANGO_CONCURRENCY))


@dataclass(slots=True)
class Tally:
    """What the hammer's clients saw, added up."""

    writes: int = 0
    retries: int = 0
    gave_up: int = 0
    other: Counter[int] = field(default_factory=Counter)


@dataclass(frozen=True, slots=True)
class Hammered:
    peer: Peer
    tally: Tally
    final: int
    seconds: float

    @property
    def lost(self) -> int:
        return self.tally.writes - self.final


async def _increment(client: httpx.AsyncClient, peer: Peer, tally: Tally) -> None:
    path = peer.path(0)
    for _ in range(MAX_ATTEMPTS):
        read = await client.get(path)
        read.raise_for_status()
        note = read.json()
        headers: dict[str, str] = {}
        # A pure counter: two clients that read the same count send the same
        # body, as real clients do; only one of them may win.
        body: dict[str, object] = {"title": "counter"}
        if peer.precondition == "body-version":
            body |= {"count": note["count"] + 1, "version": note["version"]}
        else:
            body["write"] = note["count"] + 1
            if peer.precondition == "if-match":
                headers["If-Match"] = read.headers["ETag"]
        written = await client.put(path, json=body, headers=headers)
        if written.is_success:
            tally.writes += 1
            return
        if written.status_code not in (409, 412):
            tally.other[written.status_code] += 1
            return
        tally.retries += 1
    tally.gave_up += 1


async def _client(base: str, peer: Peer, tally: Tally) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        for _ in range(INCREMENTS):
            await _increment(client, peer, tally)


async def _hammer(server: Server, peer: Peer) -> Hammered:
    tally = Tally()
    started = time.perf_counter()
    await asyncio.gather(*(_client(server.url, peer, tally) for _ in range(CLIENTS)))
    seconds = time.perf_counter() - started
    async with httpx.AsyncClient(base_url=server.url) as client:
        final = (await client.get(peer.path(0))).json()["count"]
    return Hammered(peer, tally, int(final), seconds)


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(
        argv,
        "python -m bench.peers",
        "Lost updates under a read-modify-write hammer, and PUT req/s, vs two peers.",
    )
    require_wrk()
    signal.signal(signal.SIGTERM, exit_on_sigterm)  # so the servers get stopped
    n = options.connections
    with tempfile.TemporaryDirectory(prefix="httpconflict-peers-") as tmp, ExitStack() as stack:
        work = Path(tmp)
        servers: dict[str, Server] = {}
        for k, peer in enumerate(PEERS):
            name = f"peer-{k}"
            db, port = work / f"{name}.db", free_port()
            env = {"ADAPTER_DB": str(db), "ADAPTER_SIDE": peer.side, "ADAPTER_NOTES": str(n)}
            servers[peer.label] = stack.enter_context(
                running(
                    name,
                    peer.command(port),
                    db=db,
                    port=port,
                    log_dir=work,
                    env=env,
                    discard_stdout=True,
                )
            )
        hammered = []
        for peer in PEERS:
            result = asyncio.run(_hammer(servers[peer.label], peer))
            print(
                f"     hammer  {peer.label:<46} {result.tally.writes} writes, "
                f"final count {result.final}, {result.tally.retries} retries",
                file=sys.stderr,
                flush=True,
            )
            hammered.append(result)
        contenders = [
            Contender(p.test, p.label, servers[p.label], *_wrk_workload(servers[p.label], p, n))
            for pair in PAIRS
            for p in pair
        ]
        runs = measure(contenders, options)

    rows: list[Row] = []
    for c in contenders:
        reference = next((row for row in rows if row.test == c.test), None)
        rows.append(Row(c.test, c.label, runs[c.label][1:], reference))
    report = _report(hammered, rows, options)
    print(report)
    if options.write_docs:
        write_results(DOCS, report, heading=HEADING)
        print(f"\nwrote the results into {DOCS.relative_to(PROJECT)}", file=sys.stderr)
    return verdict(runs, {}, {})


def _wrk_workload(server: Server, peer: Peer, n: int) -> tuple[str, Callable[[], list[str]]]:
    def args() -> list[str]:
        versions = settled_versions(server.db, peer.table)
        if peer.precondition == "body-version":
            return ["/notes/", uuid.uuid4().hex[:12], *(str(versions[k]) for k in range(n))]
        tags = (peer.etag.format(versions[k]) for k in range(n))
        return ["/notes/", uuid.uuid4().hex[:12], *tags]

    return ("put_version.lua" if peer.precondition == "body-version" else "put.lua"), args


def _hammer_table(hammered: Sequence[Hammered]) -> str:
    header = (
        "Contender",
        "Precondition",
        "Successful writes",
        "Final count",
        "Lost updates",
        "Retries (409/412)",
        "Other answers",
        "Seconds",
    )
    said = {"if-match": "If-Match", "none": "none", "body-version": "version in body"}
    body = [
        (
            h.peer.label,
            said[h.peer.precondition],
            f"{h.tally.writes:,}",
            f"{h.final:,}",
            f"{h.lost:,}",
            f"{h.tally.retries:,}",
            ", ".join(f"{s}: {c}" for s, c in sorted(h.tally.other.items()))
            + (f" gave up: {h.tally.gave_up}" if h.tally.gave_up else "")
            or "-",
            f"{h.seconds:.1f}",
        )
        for h in hammered
    ]
    widths = [max(len(line[i]) for line in (header, *body)) for i in range(len(header))]
    numeric = {2, 3, 4, 5, 7}

    def line(cells: Sequence[str]) -> str:
        padded = (
            c.rjust(w) if i in numeric else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join(
        "-" * (w + 1) + ":" if i in numeric else "-" * (w + 2) for i, w in enumerate(widths)
    )
    return "\n".join([line(header), rule + "|", *(line(cells) for cells in body)])


def _report(hammered: Sequence[Hammered], rows: Sequence[Row], options: argparse.Namespace) -> str:
    return "\n".join(
        [
            environment(
                options,
                "fastapi",
                "fastapi-etag",
                "sqlalchemy",
                "django",
                "djangorestframework",
                "django-concurrency",
                "uvicorn",
            ),
            "",
            f"Read-modify-write hammer: {CLIENTS} clients x {INCREMENTS} increments of one"
            " note's count (GET, then PUT count + 1; on 409/412 read again).",
            "",
            _hammer_table(hammered),
            "",
            "PUT requests/s, one note per wrk connection (no conflicts):",
            "",
            table(rows),
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
