"""Realistic nginx access logs, written in a zone of their own, with counts known in advance.

A `Hit` is one request as the generator made it: its instant, the route
template its target was made from, its client and its status. Lines are
written as nginx's combined format writes them, in a local time with its
offset (``+0200``), so the expected counts come from the generator, not
from the tool's parsing or folding.

`traffic` makes a site's day: pages, static files, an API with numeric,
UUID and hex ids, query strings, clients from a pool with a few heavy
ones, browser and bot user agents, and statuses mostly 2xx/3xx with some
4xx, 5xx and the conflicts the tool counts. `quiet_day` makes the sparse
log of the spike tests: scattered single 412s, one minute where five meet
by chance, and one real burst.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Final

#: The sparse log's day, its zone (+02:00) and its real burst.
DAY: Final = datetime(2026, 11, 24, 5, 0, tzinfo=UTC)  # 07:00 local
ZONE_MINUTES: Final = 120
MINUTES: Final = 600
BURST_MINUTE: Final = 425  # 14:05 local
BURST: Final = 15
BURST_CLIENT: Final = "198.51.100.23"
BURST_ROUTE: Final = "/api/v2/notes/{id}"
CHANCE_MINUTE: Final = 180  # 10:00 local: five 412s from five clients, by chance
SINGLES: Final = 250

AGENTS: Final = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "python-httpx/0.28.1",
    "okhttp/4.12.0",
    "Googlebot/2.1 (+http://www.google.com/bot.html)",
    "curl/8.5.0",
)


@dataclass(frozen=True, slots=True)
class Hit:
    """One request of a generated log."""

    when: datetime
    method: str
    target: str
    route: str
    status: int
    client: str
    agent: str

    def line(self, offset_minutes: int) -> str:
        """The request as nginx's combined format logs it, in a zone `offset_minutes` from UTC."""
        local = self.when.astimezone(timezone(timedelta(minutes=offset_minutes)))
        size = 0 if self.status == 304 else 200 + len(self.target) * 37 % 5000
        return (
            f"{self.client} - - [{local.strftime('%d/%b/%Y:%H:%M:%S %z')}] "
            f'"{self.method} {self.target} HTTP/1.1" {self.status} {size} '
            f'"https://example.com/" "{self.agent}"'
        )


def _number(rng: random.Random) -> str:
    return str(rng.randint(1, 9_999_999))


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _hex(rng: random.Random) -> str:
    return f"{rng.getrandbits(96):024x}"


@dataclass(frozen=True, slots=True)
class Route:
    """A route template, how to make an id for it, and the statuses it answers, weighted."""

    method: str
    template: str
    statuses: tuple[tuple[int, int], ...]
    make_id: Callable[[random.Random], str] | None = None

    def target(self, rng: random.Random) -> str:
        path = self.template.replace("{id}", self.make_id(rng)) if self.make_id else self.template
        if rng.random() < 0.25:
            path += f"?page={rng.randint(1, 40)}&sort=-updated"
        return path


ROUTES: Final = (
    Route("GET", "/", ((200, 95), (304, 5))),
    Route("GET", "/static/app.js", ((200, 40), (304, 60))),
    Route("GET", "/static/app.css", ((200, 40), (304, 60))),
    Route("GET", "/api/v2/notes", ((200, 97), (401, 3))),
    Route("GET", "/api/v2/notes/{id}", ((200, 85), (304, 10), (404, 5)), _number),
    Route("PUT", "/api/v2/notes/{id}", ((200, 80), (412, 12), (428, 4), (409, 4)), _number),
    Route("PATCH", "/api/v2/notes/{id}", ((200, 85), (409, 10), (422, 5)), _number),
    Route("DELETE", "/api/v2/notes/{id}", ((204, 90), (412, 6), (404, 4)), _number),
    Route("POST", "/api/v2/orders", ((201, 90), (409, 6), (400, 4))),
    Route("PUT", "/api/v2/users/{id}", ((200, 90), (409, 8), (500, 2)), _uuid),
    Route("GET", "/api/v2/blobs/{id}", ((200, 90), (404, 10)), _hex),
    Route("GET", "/healthz", ((200, 100),)),
)
# How often each route is asked for: pages and static files most.
WEIGHTS: Final = (30, 25, 25, 20, 40, 12, 6, 3, 4, 3, 8, 15)


def _client(rng: random.Random) -> str:
    """A client from a pool where a few addresses send much of the traffic."""
    if rng.random() < 0.3:
        return f"203.0.113.{rng.randint(1, 8)}"
    if rng.random() < 0.1:
        return f"2001:db8::{rng.randint(1, 999):x}"
    return f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def traffic(count: int, *, seed: int, start: datetime, span: timedelta) -> list[Hit]:
    """`count` requests of a busy site spread over `span` from `start`, in time order."""
    rng = random.Random(seed)
    routes = rng.choices(ROUTES, WEIGHTS, k=count)
    seconds = span.total_seconds()
    offsets = sorted(rng.random() * seconds for _ in range(count))
    hits = []
    for route, offset in zip(routes, offsets, strict=True):
        statuses, weights = zip(*route.statuses, strict=True)
        hits.append(
            Hit(
                when=start + timedelta(seconds=int(offset)),
                method=route.method,
                target=route.target(rng),
                route=route.template,
                status=rng.choices(statuses, weights)[0],
                client=_client(rng),
                agent=rng.choice(AGENTS),
            )
        )
    return hits


def quiet_day(seed: int = 3) -> list[Hit]:
    """The sparse day: 412s alone in `SINGLES` minutes, five in `CHANCE_MINUTE` from five
    clients by three methods, `BURST` in `BURST_MINUTE` from one client by one method, and
    the other requests of 2,000 (no other conflict), in time order."""
    rng = random.Random(seed)
    background = [
        hit
        for hit in traffic(2_000, seed=seed, start=DAY, span=timedelta(minutes=MINUTES))
        if hit.status not in (409, 412, 428)
    ]
    free = [m for m in range(MINUTES) if m not in (BURST_MINUTE, CHANCE_MINUTE)]
    conflicts = [
        _412(rng, minute, _client(rng), rng.choice(ROUTES[5:8]))
        for minute in rng.sample(free, SINGLES)
    ]
    conflicts += [_412(rng, CHANCE_MINUTE, f"192.0.2.{n}", ROUTES[5 + n % 3]) for n in range(5)]
    conflicts += [_412(rng, BURST_MINUTE, BURST_CLIENT, ROUTES[5]) for _ in range(BURST)]
    return sorted(background + conflicts, key=lambda hit: hit.when)


def _412(rng: random.Random, minute: int, client: str, route: Route) -> Hit:
    return Hit(
        when=DAY + timedelta(minutes=minute, seconds=rng.randrange(60)),
        method=route.method,
        target=route.target(rng),
        route=route.template,
        status=412,
        client=client,
        agent=rng.choice(AGENTS),
    )


def lines(hits: Iterable[Hit], offset_minutes: int = ZONE_MINUTES) -> list[str]:
    return [hit.line(offset_minutes) for hit in hits]
