"""Generated access logs with known counts: one scenario, written in every format the tool reads.

The scenario spans two hours, 10:00:00 to 11:59:59 UTC, so the tool's
default bucket is 5 minutes: 24 buckets. Bucket `b` holds a steady
background of conflicts (``b % 3`` 409s, ``2 + b % 2`` 412s, a 428 every
fourth bucket), far under the spike rule, and other traffic (200, 201,
304, 400, 404). Bucket `SPIKE_BUCKET` (11:10) holds `SPIKE_EXTRA` more
409s, all ``POST /v1/orders`` from `SPIKE_CLIENT`: the one spike.

Each request knows the route template its target was made from, so the
expected counts come from the generator, not from the tool's folding.
Every writer renders a `Request` as one line of its format, the way that
server writes it.
"""

from __future__ import annotations

import json
import random
import string
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Final

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
START: Final = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
SPAN: Final = 7200
BUCKET: Final = 300
BUCKETS: Final = SPAN // BUCKET
SPIKE_BUCKET: Final = 14
SPIKE_EXTRA: Final = 25
SPIKE_CLIENT: Final = "203.0.113.9"
SPIKE_ROUTE: Final = "/v1/orders"
CLIENTS: Final = ("10.0.0.1", "10.0.0.2", "10.0.0.3", "192.0.2.44", "2001:db8::7")
PHRASES: Final = {
    200: "OK",
    201: "Created",
    304: "Not Modified",
    400: "Bad Request",
    404: "Not Found",
    409: "Conflict",
    412: "Precondition Failed",
    428: "Precondition Required",
}


@dataclass(frozen=True, slots=True)
class Request:
    """One request of the scenario, and the route template its target was made from."""

    time_ms: int
    method: str
    target: str
    route: str
    status: int
    client: str
    problem: str | None

    @property
    def when(self) -> datetime:
        return EPOCH + timedelta(milliseconds=self.time_ms)

    @property
    def path(self) -> str:
        return self.target.partition("?")[0]

    @property
    def bucket_start(self) -> datetime:
        """The start of the 5-minute bucket holding the request."""
        offset = (self.when - START).total_seconds()
        return START + timedelta(seconds=int(offset // BUCKET) * BUCKET)

    @property
    def bucket(self) -> str:
        """That start as the tool's JSON writes it for a log in UTC."""
        return iso(self.bucket_start, 0)


def iso(moment: datetime, offset_minutes: int | None) -> str:
    """`moment` as the tool's JSON writes it for a log in a zone `offset_minutes` from UTC
    (None: a log that states no zone, whose times are shown as written)."""
    if offset_minutes is None:
        return moment.astimezone(UTC).replace(tzinfo=None).isoformat()
    stamp = moment.astimezone(timezone(timedelta(minutes=offset_minutes))).isoformat()
    return stamp.replace("+00:00", "Z")


def _number(rng: random.Random) -> str:
    return str(rng.randint(1, 10**7))


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _object_id(rng: random.Random) -> str:
    return f"{rng.getrandbits(96):024x}"


def _token(rng: random.Random) -> str:
    """22 characters that look random by construction: lower, upper, digit, repeated."""
    chars = [
        rng.choice(string.ascii_lowercase)
        + rng.choice(string.ascii_uppercase)
        + rng.choice("0123456789")
        for _ in range(7)
    ]
    return "".join(chars) + "x"


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    template: str
    status: int
    problem: str | None
    make_id: Callable[[random.Random], str] | None = None

    def target(self, rng: random.Random) -> str:
        path = self.template.replace("{id}", self.make_id(rng)) if self.make_id else self.template
        if rng.random() < 0.3:
            path += f"?expand=body&ts={rng.randint(1, 10**9)}"
        return path


CONFLICT_ROUTES: Final = (
    Route("PUT", "/v1/notes/{id}", 412, "precondition-failed", _number),
    Route("PATCH", "/v1/notes/{id}", 409, "merge-conflict", _number),
    Route("DELETE", "/v1/notes/{id}", 428, "precondition-required", _number),
    Route("PUT", "/v1/users/{id}", 409, "unique-violation", _uuid),
    Route("POST", SPIKE_ROUTE, 409, "idempotency-key-in-flight"),
    Route("PUT", "/v1/blobs/{id}", 412, "precondition-failed", _object_id),
    Route("POST", "/v1/sessions/{id}/refresh", 428, "precondition-required", _token),
    Route("PUT", "/v1/exports/{id}.csv", 412, "precondition-failed", _number),
)
OTHER_ROUTES: Final = (
    Route("GET", "/v1/notes/{id}", 200, None, _number),
    Route("PUT", "/v1/notes/{id}", 200, None, _number),
    Route("PUT", "/v1/notes/{id}", 201, None, _number),
    Route("GET", "/v1/notes/{id}", 304, None, _number),
    Route("GET", "/v1/users/{id}", 404, "not-found", _uuid),
    Route("POST", "/v1/orders", 400, "malformed-json"),
)


def _request(rng: random.Random, route: Route, time_ms: int, client: str) -> Request:
    return Request(
        time_ms,
        route.method,
        route.target(rng),
        route.template,
        route.status,
        client,
        route.problem,
    )


def scenario(seed: int = 7) -> list[Request]:
    """The scenario of the module docstring, in time order."""
    rng = random.Random(seed)
    start_ms = int(START.timestamp() * 1000)
    requests = [
        _request(rng, OTHER_ROUTES[0], start_ms, CLIENTS[0]),  # pins the span's start
        _request(rng, OTHER_ROUTES[0], start_ms + (SPAN - 1) * 1000, CLIENTS[0]),  # and end
    ]
    by_status: dict[int, list[Route]] = {}
    for route in CONFLICT_ROUTES:
        by_status.setdefault(route.status, []).append(route)
    for bucket in range(BUCKETS):
        bucket_ms = start_ms + bucket * BUCKET * 1000
        counts = {409: bucket % 3, 412: 2 + bucket % 2, 428: 1 if bucket % 4 == 0 else 0}
        chosen = [rng.choice(by_status[s]) for s, n in counts.items() for _ in range(n)]
        chosen += list(OTHER_ROUTES)
        for route in chosen:
            time_ms = bucket_ms + rng.randrange(BUCKET * 1000)
            requests.append(_request(rng, route, time_ms, rng.choice(CLIENTS)))
        if bucket == SPIKE_BUCKET:
            orders = next(r for r in CONFLICT_ROUTES if r.template == SPIKE_ROUTE)
            for _ in range(SPIKE_EXTRA):
                time_ms = bucket_ms + rng.randrange(BUCKET * 1000)
                requests.append(_request(rng, orders, time_ms, SPIKE_CLIENT))
    return sorted(requests, key=lambda r: r.time_ms)


def conflicts(requests: Iterable[Request]) -> list[Request]:
    return [r for r in requests if r.status in (409, 412, 428)]


def expected(
    requests: Iterable[Request], key: Callable[[Request], str | None]
) -> Counter[tuple[str | None, int]]:
    """(key, status) counts of the conflicts, as the tool should report them."""
    return Counter((key(r), r.status) for r in conflicts(requests))


# --- the writers ------------------------------------------------------------------------------


def _clf(request: Request, offset_minutes: int) -> str:
    """The common log format time (%d/%b/%Y:%H:%M:%S %z) in a zone `offset_minutes` from UTC."""
    zone = timezone(timedelta(minutes=offset_minutes))
    return request.when.astimezone(zone).strftime("%d/%b/%Y:%H:%M:%S %z")


def _port(request: Request) -> int:
    return 40000 + request.time_ms % 20000


def _size(request: Request) -> int:
    return 0 if request.status == 304 else 90 + request.time_ms % 400


def nginx(request: Request) -> str:
    """nginx's combined format, in a +01:00 local time."""
    return (
        f'{request.client} - - [{_clf(request, 60)}] "{request.method} {request.target} HTTP/1.1" '
        f'{request.status} {_size(request)} "-" "Mozilla/5.0 (X11; Linux x86_64)"'
    )


def apache(request: Request) -> str:
    """Apache's combined format, with a user, "-" for no bytes and a -05:00 local time."""
    return (
        f"{request.client} - frank [{_clf(request, -300)}] "
        f'"{request.method} {request.target} HTTP/1.1" {request.status} {_size(request) or "-"} '
        '"https://app.example.com/notes" "curl/8.5.0"'
    )


def gunicorn(request: Request) -> str:
    """gunicorn's default access_log_format.

    %(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"
    """
    return (
        f'{request.client} - - [{_clf(request, 0)}] "{request.method} {request.target} HTTP/1.1" '
        f'{request.status} {_size(request)} "-" "python-httpx/0.28.1"'
    )


def gunicorn_uvicorn_worker(request: Request) -> str:
    """uvicorn's access line through gunicorn's error handler: "[time] [pid] [LEVEL] message"."""
    stamp = request.when.strftime("%Y-%m-%d %H:%M:%S +0000")
    return (
        f"[{stamp}] [4242] [INFO] {request.client}:{_port(request)} - "
        f'"{request.method} {request.target} HTTP/1.1" {request.status}'
    )


def uvicorn(request: Request) -> str:
    """uvicorn's access line under a logging config that puts %(asctime)s first."""
    stamp = request.when.strftime("%Y-%m-%d %H:%M:%S") + f",{request.time_ms % 1000:03d}"
    return (
        f"{stamp} INFO:     {request.client}:{_port(request)} - "
        f'"{request.method} {request.target} HTTP/1.1" {request.status} {PHRASES[request.status]}'
    )


def uvicorn_without_time(request: Request) -> str:
    """uvicorn's default access line: no time at all."""
    return (
        f"INFO:     {request.client}:{_port(request)} - "
        f'"{request.method} {request.target} HTTP/1.1" {request.status} {PHRASES[request.status]}'
    )


def _iso_ms(request: Request) -> str:
    return request.when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def service_text(request: Request) -> str:
    """Our service's text access line (it logs the path, without the query)."""
    problem = request.problem or "-"
    return f"{_iso_ms(request)} {request.method} {request.path} {request.status} {problem} 1.24ms"


def service_json(request: Request) -> str:
    """Our service's JSON access line."""
    record = {
        "time": _iso_ms(request),
        "method": request.method,
        "path": request.path,
        "status": request.status,
        "problem": request.problem,
        "duration_ms": 1.24,
        "client": request.client,
        "worker": 4242,
    }
    return json.dumps(record, separators=(",", ":"))


def generic_json(request: Request) -> str:
    """A JSON logger's line: epoch milliseconds, a request line, the status as a string."""
    record = {
        "level": "info",
        "ts": request.time_ms,
        "request": f"{request.method} {request.target} HTTP/1.1",
        "status_code": str(request.status),
        "remote_addr": f"[{request.client}]:{_port(request)}"
        if ":" in request.client
        else f"{request.client}:{_port(request)}",
        "problem_type": request.problem,
        "msg": "request finished",
    }
    return json.dumps(record)


def ecs_json(request: Request) -> str:
    """Elastic Common Schema: nested http, url and client objects, an offset time."""
    record = {
        "@timestamp": request.when.isoformat(timespec="milliseconds"),
        "http": {
            "request": {"method": request.method},
            "response": {"status_code": request.status},
        },
        "url": {"original": request.target, "path": request.path},
        "client": {"ip": request.client},
        "event": {"dataset": "nginx.access"},
    }
    return json.dumps(record)


@dataclass(frozen=True, slots=True)
class LogFormat:
    """A writer, what the tool should call its lines, and what its lines record."""

    name: str
    write: Callable[[Request], str]
    detected: str
    #: Lines of the log that are not requests (a server's startup messages).
    noise: tuple[str, ...] = ()
    clients: bool = True
    problems: bool = False
    times: bool = True
    #: The zone its times are written in, in minutes east of UTC; None: it states none.
    offset: int | None = 0

    def iso(self, moment: datetime) -> str:
        """`moment` as the tool's JSON writes times of this log: in the log's own zone."""
        return iso(moment, self.offset)

    def lines(self, requests: Iterable[Request]) -> list[str]:
        return [*self.noise, *(self.write(r) for r in requests)]


UVICORN_STARTUP: Final = (
    "INFO:     Started server process [4242]",
    "INFO:     Waiting for application startup.",
    "INFO:     Application startup complete.",
    "INFO:     Uvicorn running on http://0.0.0.0:8000 (Press CTRL+C to quit)",
)
FORMATS: Final = (
    LogFormat("nginx", nginx, "combined", offset=60),
    LogFormat("apache", apache, "combined", offset=-300),
    LogFormat("gunicorn", gunicorn, "combined"),
    LogFormat(
        "gunicorn-uvicorn-worker",
        gunicorn_uvicorn_worker,
        "uvicorn",
        noise=(
            "[2026-11-24 09:59:58 +0000] [4240] [INFO] Starting gunicorn 23.0.0",
            "[2026-11-24 09:59:58 +0000] [4240] [INFO] Listening at: http://0.0.0.0:8000 (4240)",
            "[2026-11-24 09:59:58 +0000] [4242] [INFO] Booting worker with pid: 4242",
        ),
    ),
    LogFormat("uvicorn", uvicorn, "uvicorn", noise=UVICORN_STARTUP, offset=None),
    LogFormat(
        "uvicorn-without-time", uvicorn_without_time, "uvicorn", noise=UVICORN_STARTUP, times=False
    ),
    LogFormat("service-text", service_text, "service-text", clients=False, problems=True),
    LogFormat("service-json", service_json, "service-json", problems=True),
    LogFormat("generic-json", generic_json, "json", problems=True),
    LogFormat("ecs-json", ecs_json, "json"),
)
