"""Slow and big clients against the service: what other clients wait, and what the guards cost.

    python -m bench.slow_clients [--duration S] [--rounds N] [--slow 500] [--header-timeout S]
    python -m bench.slow_clients attack --port P ...   (the attacking process, used by the above)

1. Latency. One service (SQLite, one worker, no access log) is measured
   by 8 well-behaved clients (4 on keep-alive connections, 4 opening a
   connection per request, each pacing itself at one GET of a document
   every 20 ms), for `--duration` seconds, first quiet and then under attack,
   `--rounds` times, side by side. The attack runs in a process of its own
   (so its work is not counted in the clients' latency): `--slow`
   connections sending a request head one byte every 100 ms (slowloris;
   each reopened when the server closes it) and 2 connections sending
   1 MiB header fields in a loop. Printed: p50, p99 and max latency of
   the clients each way, and the slow connections' lifetimes (the server
   closes them at `--header-timeout`) and the answers the big heads got.
2. Hot path. wrk GET and If-Match PUT against the same app behind the
   service's protocol (``httpconflict serve``, with the guards) and behind
   uvicorn's own httptools protocol, interleaved rounds; the ratio of
   medians is what the guards cost a request, within the noise of a
   shared machine. So the guards' own time is also measured apart: the
   protocol's callbacks for one request (parsing and the guards, with the
   app's task left out for both), each class in turn, the best of 7 runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import httpx

from .report import Row, table
from .rounds import Contender, environment, measure
from .servers import HOST, Server, free_port, running, service_command
from .wrk import require_wrk

DOC: Final = "/v1/bench/doc"
BIG_HEADER: Final = 1024 * 1024
BYTE_INTERVAL: Final = 0.1
CLIENT_PACE: Final = 0.02


# The attack


@dataclass
class AttackResult:
    """What the slow and big connections saw."""

    #: Seconds from each slow connection's start to the server's closing it.
    lifetimes: list[float] = field(default_factory=list)
    #: The status each closed slow connection was answered with (0: none).
    slow_statuses: list[int] = field(default_factory=list)
    #: The status each 1 MiB head was answered with (0: none).
    big_statuses: list[int] = field(default_factory=list)
    #: Connections that could not be opened.
    refused: int = 0


async def attack(port: int, slow: int, big: int, duration: float) -> AttackResult:
    """`slow` slowloris connections and `big` 1 MiB-head senders, for `duration` seconds."""
    result = AttackResult()
    deadline = time.monotonic() + duration

    async def slowloris(k: int) -> None:
        await asyncio.sleep(k * 0.002)  # the connections open over a second, not in one burst
        while time.monotonic() < deadline:
            try:
                await _one_slow_connection(port, deadline, result)
            except OSError:
                result.refused += 1
                await asyncio.sleep(0.1)

    async def big_heads() -> None:
        while time.monotonic() < deadline:
            try:
                result.big_statuses.append(await _one_big_head(port))
            except OSError:
                result.refused += 1
                await asyncio.sleep(0.1)

    await asyncio.gather(*(slowloris(k) for k in range(slow)), *(big_heads() for _ in range(big)))
    return result


async def _one_slow_connection(port: int, deadline: float, result: AttackResult) -> None:
    started = time.monotonic()
    reader, writer = await asyncio.open_connection(HOST, port)
    answer = asyncio.ensure_future(reader.read())  # the whole answer, until the server closes
    try:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        while not answer.done() and time.monotonic() < deadline:
            await asyncio.wait([answer], timeout=BYTE_INTERVAL)
            if not answer.done():
                writer.write(b"a")
        if answer.done():
            result.lifetimes.append(time.monotonic() - started)
            result.slow_statuses.append(_status(answer.result()))
    finally:
        answer.cancel()
        writer.close()
        with suppress(OSError):
            await writer.wait_closed()


async def _one_big_head(port: int) -> int:
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        head = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: "
        writer.write(head + b"b" * BIG_HEADER + b"\r\n\r\n")
        with suppress(OSError):
            await writer.drain()  # the server may stop reading once it has refused
        return _status(await reader.read())
    finally:
        writer.close()
        with suppress(OSError):
            await writer.wait_closed()


def _status(answer: bytes) -> int:
    parts = answer.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


def run_attack(port: int, *, slow: int, big: int, duration: int) -> subprocess.Popen[str]:
    """Start the attack in a process of its own; `finish_attack` collects its result."""
    command = [sys.executable, "-m", "bench.slow_clients", "attack", "--port", str(port)]
    command += ["--slow", str(slow), "--big", str(big), "--duration", str(duration)]
    return subprocess.Popen(
        command, cwd=Path(__file__).parent.parent, stdout=subprocess.PIPE, text=True
    )


def finish_attack(process: subprocess.Popen[str]) -> AttackResult:
    out, _ = process.communicate(timeout=120)
    if process.returncode != 0:
        raise RuntimeError(f"the attack failed with {process.returncode}")
    return AttackResult(**json.loads(out))


# The well-behaved clients


async def clients(port: int, duration: float, *, path: str = DOC) -> list[float]:
    """Latencies, in seconds, of 8 paced clients' GETs of `path` for `duration` seconds."""
    deadline = time.monotonic() + duration
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
    latencies: list[float] = []

    async def keep_alive() -> None:
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            while time.monotonic() < deadline:
                started = time.perf_counter()
                writer.write(request)
                await _read_answer(reader)
                latencies.append(time.perf_counter() - started)
                await asyncio.sleep(CLIENT_PACE)
        finally:
            writer.close()

    async def connection_each() -> None:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            reader, writer = await asyncio.open_connection(HOST, port)
            try:
                writer.write(request)
                await _read_answer(reader)
            finally:
                writer.close()
            latencies.append(time.perf_counter() - started)
            await asyncio.sleep(CLIENT_PACE)

    await asyncio.gather(*(keep_alive() for _ in range(4)), *(connection_each() for _ in range(4)))
    return latencies


async def _read_answer(reader: asyncio.StreamReader) -> None:
    head = await reader.readuntil(b"\r\n\r\n")
    if _status(head) != 200:
        raise RuntimeError(f"a client was answered {head[:80]!r}")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.lower().split(b"\r\n")
        if line.startswith(b"content-length:")
    )
    await reader.readexactly(length)


def percentile(values: Sequence[float], p: float) -> float:
    """The `p`-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


# The benchmark


def main(argv: Sequence[str] | None = None) -> int:
    options = _parse(argv)
    if options.command == "attack":
        result = asyncio.run(attack(options.port, options.slow, options.big, options.duration))
        print(json.dumps(result.__dict__))
        return 0
    if options.command == "callbacks":
        print(_callback_report())
        return 0
    with tempfile.TemporaryDirectory(prefix="httpconflict-bench-") as tmp, ExitStack() as stack:
        work = Path(tmp)
        db, port = work / "slow.db", free_port()
        command = service_command(db, port, "off")
        command += ["--header-timeout", str(options.header_timeout)]
        stack.enter_context(running("service", command, db=db, port=port, log_dir=work))
        create_document(f"http://{HOST}:{port}")
        print(_latency_report(port, options))
        print()
        print(_hot_path_report(work, stack, options))
        print()
        print(_callback_report())
    return 0


def create_document(url: str, path: str = DOC) -> None:
    """The document the clients read."""
    answer = httpx.put(
        url + path, content=b'{"n": 0}', headers={"Content-Type": "application/json"}, timeout=10
    )
    if answer.status_code not in (201, 428):
        raise RuntimeError(f"creating {path}: {answer.status_code} {answer.text}")


def _latency_report(port: int, options: argparse.Namespace) -> str:
    quiet: list[float] = []
    attacked: list[float] = []
    attacks: list[AttackResult] = []
    for r in range(options.rounds):
        quiet += asyncio.run(clients(port, options.duration))
        process = run_attack(port, slow=options.slow, big=2, duration=options.duration + 2)
        time.sleep(1.5)  # the slow connections are open
        attacked += asyncio.run(clients(port, options.duration))
        attacks.append(finish_attack(process))
        print(f"round {r + 1}/{options.rounds} done", file=sys.stderr, flush=True)
    lifetimes = [t for a in attacks for t in a.lifetimes]
    slow_statuses = sorted({s for a in attacks for s in a.slow_statuses})
    big = [s for a in attacks for s in a.big_statuses]
    lines = [
        f"Clients' GET latency, quiet and under attack ({options.slow} connections sending a "
        f"head one byte every {BYTE_INTERVAL * 1000:.0f} ms, and 2 sending 1 MiB header fields "
        f"in a loop); --header-timeout {options.header_timeout:g} s; {options.rounds} rounds x "
        f"{options.duration:g} s each way. {_machine()}",
        "",
        "| clients | requests | p50 ms | p99 ms | max ms | p99 / quiet p99 |",
        "|---|--:|--:|--:|--:|--:|",
    ]
    for name, values in (("quiet", quiet), ("under attack", attacked)):
        lines.append(
            f"| {name} | {len(values):,} | {percentile(values, 50) * 1000:.2f} | "
            f"{percentile(values, 99) * 1000:.2f} | {max(values) * 1000:.2f} | "
            f"{percentile(values, 99) / percentile(quiet, 99):.2f} |"
        )
    lines += [
        "",
        f"Slow connections closed by the server: {len(lifetimes):,}, after "
        f"{min(lifetimes):.2f} to {max(lifetimes):.2f} s (median {statistics.median(lifetimes):.2f}"
        f" s), answered {slow_statuses}; 1 MiB heads: {len(big):,}, answered "
        f"{sorted(set(big))}; connections refused: {sum(a.refused for a in attacks)}.",
    ]
    return "\n".join(lines)


def _hot_path_report(work: Path, stack: ExitStack, options: argparse.Namespace) -> str:
    require_wrk()
    guarded_db, guarded_port = work / "guarded.db", free_port()
    guarded = stack.enter_context(
        running(
            "guarded",
            service_command(guarded_db, guarded_port, "off"),
            db=guarded_db,
            port=guarded_port,
            log_dir=work,
        )
    )
    plain_db, plain_port = work / "plain.db", free_port()
    plain = stack.enter_context(
        running(
            "uvicorn-protocol",
            _uvicorn_protocol_command(plain_port),
            db=plain_db,
            port=plain_port,
            log_dir=work,
            env={"HTTPCONFLICT_DB": str(plain_db), "HTTPCONFLICT_LOG_FORMAT": "off"},
        )
    )
    n = options.connections
    for server in (guarded, plain):
        for k in range(n):
            create_document(server.url, f"{DOC}-{k}")
    contenders: list[Contender] = []
    for server, label in ((plain, "uvicorn's protocol"), (guarded, "service's protocol")):
        contenders.append(Contender("GET 200", f"{label}, GET", server, "get.lua", _get_args(n)))
        contenders.append(
            Contender("If-Match PUT", f"{label}, PUT", server, "put.lua", _put_args(server, n))
        )
    runs = measure(contenders, options)
    rows: list[Row] = []
    for c in contenders:
        reference = next((row for row in rows if row.test == c.test), None)
        rows.append(Row(c.test, c.label, runs[c.label][1:], reference))
    return (
        "The guards' cost: the same app behind uvicorn's httptools protocol and behind the "
        f"service's (ratio against the first row of each test). "
        f"{environment(options, 'uvicorn', 'httptools')}\n\n{table(rows)}"
    )


GET_REQUEST: Final = b"GET /v1/bench/doc-0 HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n\r\n"
PUT_REQUEST: Final = (
    b"PUT /v1/bench/doc-0 HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n"
    b'Content-Type: application/json\r\nIf-Match: "0123456789abcdef"\r\n'
    b'Content-Length: 56\r\n\r\n{"title": "benchmark document", "writer": 0, "write": 1}'
)


class _Transport:
    """Just enough of a transport for a protocol to take requests and write nothing."""

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 8000) if name in ("sockname", "peername") else default

    def is_closing(self) -> bool:
        return False

    def write(self, data: bytes) -> None:
        raise RuntimeError("nothing is answered here")

    def pause_reading(self) -> None: ...

    def resume_reading(self) -> None: ...

    def close(self) -> None: ...


def callback_cost(protocol_class: type[Any], request: bytes, n: int = 20_000) -> float:
    """Seconds the protocol's callbacks take per request (its app's task not started)."""
    import uvicorn
    from uvicorn.server import ServerState

    async def app(scope: Any, receive: Any, send: Any) -> None: ...

    loop = asyncio.new_event_loop()
    try:
        config = uvicorn.Config(app, log_config=None)
        protocol = protocol_class(config, ServerState(), {}, _loop=loop)
        protocol.connection_made(_Transport())
        protocol._start_asgi_task = lambda cycle, app: None  # the same app either way
        started = time.perf_counter()
        for _ in range(n):
            protocol.data_received(request)
            protocol.cycle.response_complete = True  # answered: the next one starts at once
        took = time.perf_counter() - started
        protocol.connection_lost(None)
        return took / n
    finally:
        loop.close()


def _callback_report() -> str:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    from httpconflict.service.protocol import ProblemHttpToolsProtocol

    lines = [
        "The guards' own time: the protocol's callbacks for one request (parsing, the guards; "
        "the app's task left out), best of 7 runs of 20,000 requests each, the classes "
        "interleaved (each first in turn).",
        "",
        "| request | uvicorn's protocol µs | service's protocol µs | added µs | ratio |",
        "|---|--:|--:|--:|--:|",
    ]
    for name, request in (("GET", GET_REQUEST), ("PUT with a 56-byte body", PUT_REQUEST)):
        plain: list[float] = []
        guarded: list[float] = []
        for k in range(7):
            # Each class first in turn: the first of a pair pays for the other's garbage.
            if k % 2:
                guarded.append(callback_cost(ProblemHttpToolsProtocol, request))
            plain.append(callback_cost(HttpToolsProtocol, request))
            if not k % 2:
                guarded.append(callback_cost(ProblemHttpToolsProtocol, request))
        a, b = min(plain) * 1e6, min(guarded) * 1e6
        lines.append(f"| {name} | {a:.2f} | {b:.2f} | {b - a:+.2f} | {b / a:.2f}x |")
    return "\n".join(lines)


def _uvicorn_protocol_command(port: int) -> list[str]:
    """The service's app under uvicorn's own httptools protocol (no guards)."""
    code = (
        "import uvicorn; uvicorn.run('httpconflict.service.app:create_app', factory=True, "
        f"host={HOST!r}, port={port}, http='httptools', access_log=False, "
        "server_header=False, log_level='warning')"
    )
    return [sys.executable, "-c", code]


def _get_args(n: int) -> Any:
    return lambda: [f"{DOC}-", "200", *["-"] * n]


def _put_args(server: Server, n: int) -> Any:
    def args() -> list[str]:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            etags = [client.get(f"{DOC}-{k}").headers["etag"] for k in range(n)]
        return [f"{DOC}-", uuid.uuid4().hex[:12], *etags]

    return args


def _machine() -> str:
    return f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}."


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.slow_clients", description=__doc__)
    parser.add_argument(
        "command", nargs="?", choices=("bench", "attack", "callbacks"), default="bench"
    )
    parser.add_argument("--duration", type=int, default=5, help="seconds per run (default 5)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (default 3)")
    parser.add_argument("--slow", type=int, default=500, help="slow connections (default 500)")
    parser.add_argument("--big", type=int, default=2, help="1 MiB head senders (attack only)")
    parser.add_argument("--port", type=int, help="the server's port (attack only)")
    parser.add_argument(
        "--header-timeout", type=float, default=2.0, help="the service's (default 2 s)"
    )
    parser.add_argument(
        "--connections", type=int, default=4, help="wrk connections, one per thread (default 4)"
    )
    parser.add_argument("--warmup", type=int, default=2, help="wrk warm-up seconds (default 2)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main())
