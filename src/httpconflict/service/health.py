"""GET /healthz: whether each dependency answers, told within a second whatever they do.

Each dependency (the database; the idempotency-key store, when keys are
on) is pinged in a task of its own, and the answer waits for them at most
`HEALTH_WAIT` seconds: 200 when every one answered, else a 503 problem
whose ``checks`` say which is down (``{"database": "down",
"idempotency_keys": "up"}``). A ping still running then (a frozen server,
a lost network) counts as down, and the next request waits on that same
ping instead of starting another, so a hung dependency costs one task, not
one per request. Why a dependency is down goes to the log under the
answer's incident id, never into the answer. An optional dependency, one
the service works without (the replay cache in front of the keys), is
named in ``checks`` too, but its being down is no 503: a load balancer
must not take every instance out because Redis is.

A database that answers but could not store a write now is no more "up"
than one that does not answer: its ping asks it (PostgreSQL: in recovery,
a hot standby, or read-only by ``default_transaction_read_only``; SQLite:
a write of the file's header, rolled forward, that a full disk refuses),
and ``checks`` names what it found instead of "down" (``"read-only"``,
``"full"``), with a 503 whose detail says so: every write would be a 503
meanwhile, and a balancer that takes such an instance out is told.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Final

from starlette.requests import Request
from starlette.responses import Response

from .. import WritesUnavailable
from ..incidents import log_incident, new_incident
from ..problem_types import UNAVAILABLE
from ..starlette import problem_response

#: Seconds /healthz waits for its pings.
HEALTH_WAIT: Final = 0.5

Ping = Callable[[], Awaitable[None]]


class Health:
    """The /healthz endpoint over named pings."""

    def __init__(
        self, pings: Mapping[str, Ping], optional: Mapping[str, Ping] | None = None
    ) -> None:
        self._pings = {**pings, **(optional or {})}
        self._optional = frozenset(optional or ())
        self._running: dict[str, asyncio.Future[None]] = {}

    async def checks(self) -> dict[str, BaseException | None]:
        """Each dependency's failure (a `TimeoutError` if it did not answer in time), or None."""
        pending = {name: self._ping(name) for name in self._pings}
        await asyncio.wait(pending.values(), timeout=HEALTH_WAIT)
        return {name: _failure(task) for name, task in pending.items()}

    def _ping(self, name: str) -> asyncio.Future[None]:
        task = self._running.get(name)
        if task is None or task.done():
            task = asyncio.ensure_future(self._pings[name]())
            # Its exception is read here if no request is left waiting for it.
            task.add_done_callback(lambda t: t.cancelled() or t.exception())
            self._running[name] = task
        return task

    async def endpoint(self, request: Request) -> Response:
        failures = await self.checks()
        checks = {name: _state(error) for name, error in failures.items()}
        down = [
            name
            for name, error in failures.items()
            if error is not None and name not in self._optional
        ]
        if not down:
            body = json.dumps({"status": "ok", "checks": checks}, separators=(",", ":"))
            return Response(body, media_type="application/json")
        # What a store that answers found against writing, in its words; then what is down.
        # (The keys' store on the same database finds the same: said once.)
        told = list(dict.fromkeys(str(failures[n]) for n in down if checks[n] != "down"))
        gone = [name for name in down if checks[name] == "down"]
        what = "; ".join([*told, *([f"down: {', '.join(gone)}"] if gone else [])])
        incident = new_incident()
        for name in down:
            error = failures[name]
            assert error is not None
            cause = error.__cause__ or error  # a store's Unavailable wraps the driver's error
            log_incident(incident, f"503 /healthz: {name} down", cause, level=logging.WARNING)
        problem = UNAVAILABLE.problem(what, retry_after=1, incident=incident, checks=checks)
        return problem_response(problem, {"Retry-After": "1"})


def _state(error: BaseException | None) -> str:
    """A check's word: "up", "down", or what keeps a dependency that answers from writing."""
    if error is None:
        return "up"
    return error.state if isinstance(error, WritesUnavailable) else "down"


def _failure(task: asyncio.Future[None]) -> BaseException | None:
    if not task.done():
        return TimeoutError(f"no answer within {HEALTH_WAIT} s")
    if task.cancelled():
        return asyncio.CancelledError("the check was cancelled")
    return task.exception()
