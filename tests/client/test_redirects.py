"""`update`, `create` and `watch` through an httpx client made with ``follow_redirects=True``.

The client follows redirects itself, a hop at a time (``_bounded.send``),
so as not to read their bodies. It once followed them all: a POST answered
302 to a login page, or a PATCH answered 303, came back as that page's 200
to a GET, and the write counted as applied (`create` and `update` returned
a `StoredDocument`; the server had applied nothing). A redirect that would
change the method is now the write's answer: 301 or 302 to a POST is a
refusal, a 303 leaves the outcome unknown (it may point at the result).
A redirect loop was taken for a lost answer and resent, 21 requests a
try, about 200 POSTs in 3 s: it is now the answer, a refusal, after one.
Each hop also ran the httpx client's auth flow again, so a 307 to another
origin got the ``auth=`` credentials: a hop now runs none, as in httpx.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from httpconflict.httpx import (
    AsyncConflictClient,
    ConflictClient,
    ConflictError,
    OutcomeUnknown,
    RequestRefused,
    RetryPolicy,
    StoredDocument,
    VirtualClock,
)
from tests.hostile_http import RawServer, Request, answer, hostile_server

POLICY = RetryPolicy(attempts=6)
#: `create` or `update`, on a ConflictClient or (awaited) an AsyncConflictClient.
Operation = Callable[[Any], Any]
#: `sync_run` or `async_run`: (operation, base URL, httpx client options).
Run = Callable[..., StoredDocument]


class Redirecting(RawServer):
    """A document at /v1/notes/a (GET only); writes redirected as `writes` says; /login a page.

    `writes` maps a method to (status, location). Every request is recorded
    with its fields.
    """

    def __init__(self, writes: dict[str, tuple[int, str]]) -> None:
        super().__init__()
        self.writes = writes
        self.seen: list[tuple[str, str, dict[str, str]]] = []

    async def serve(
        self, request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        self.seen.append((request.method, request.target, request.headers))
        if request.target.startswith("/login"):
            writer.write(answer(200, {"content-type": "text/html"}, b"<p>please log in</p>"))
        elif request.method in self.writes:
            status, location = self.writes[request.method]
            writer.write(answer(status, {"location": location}))
        else:
            fields = {"content-type": "application/json", "etag": '"v1"'}
            writer.write(answer(200, fields, json.dumps({"n": 1}).encode()))
        await writer.drain()
        return True


def increment(doc: dict[str, Any]) -> None:
    doc["n"] += 1


def sync_run(operation: Operation, base: str, **options: Any) -> StoredDocument:
    with httpx.Client(base_url=base, timeout=10, follow_redirects=True, **options) as http:
        result: StoredDocument = operation(
            ConflictClient(http, policy=POLICY, clock=VirtualClock())
        )
        return result


def async_run(operation: Operation, base: str, **options: Any) -> StoredDocument:
    async def main() -> StoredDocument:
        async with httpx.AsyncClient(
            base_url=base, timeout=10, follow_redirects=True, **options
        ) as http:
            client = AsyncConflictClient(http, policy=POLICY, clock=VirtualClock())
            result: StoredDocument = await operation(client)
            return result

    return asyncio.run(main())


RUNS = [pytest.param(sync_run, id="sync"), pytest.param(async_run, id="async")]


def create(client: Any) -> Any:
    return client.create("/v1/notes", {"title": "x"})


def update(client: Any) -> Any:
    return client.update("/v1/notes/a", increment)


@pytest.fixture
def server() -> Iterator[Redirecting]:
    with hostile_server(Redirecting({})) as running:
        yield running


@pytest.mark.parametrize("run", RUNS)
@pytest.mark.parametrize("status", [301, 302])
def test_a_post_redirected_to_a_page_is_refused(server: Redirecting, run: Run, status: int) -> None:
    """POST answered 301/302 to /login (whose GET says 200): `RequestRefused` naming the
    redirect, and /login never asked for; it once returned the document as created."""
    server.writes = {"POST": (status, "/login?next=/v1/notes")}
    with pytest.raises(RequestRefused) as refused:
        run(create, server.url)
    assert (
        f"POST answered {status} to /login?next=/v1/notes (a redirect, not followed: "
        "following it would turn the POST into a GET)"
    ) in str(refused.value)
    assert [(m, t) for m, t, _ in server.seen] == [("POST", "/v1/notes")]


@pytest.mark.parametrize("run", RUNS)
@pytest.mark.parametrize("method", ["PATCH", "PUT"])
def test_a_write_answered_see_other_is_of_unknown_outcome(
    server: Redirecting, run: Run, method: str
) -> None:
    """PATCH (and the PUT after a 405) answered 303 to /login: `OutcomeUnknown` (a 303 may
    point at the write's result, RFC 9110 §15.4.4); it once returned {"n": 2}."""
    server.writes = {"PATCH": (303, "/login")} if method == "PATCH" else {"PATCH": (405, "")}
    server.writes["PUT"] = (303, "/login")
    with pytest.raises(OutcomeUnknown) as unknown:
        run(update, server.url)
    assert f"{method} answered 303 to /login (a redirect, not followed" in str(unknown.value)
    assert "a 303 may point at the write's result" in str(unknown.value)
    assert "/login" not in [t for _, t, _ in server.seen]


@pytest.mark.parametrize("run", RUNS)
def test_a_post_see_other_is_of_unknown_outcome(server: Redirecting, run: Run) -> None:
    """POST answered 303 (post/redirect/get): `OutcomeUnknown`, the result's page unread."""
    server.writes = {"POST": (303, "/login")}
    with pytest.raises(OutcomeUnknown):
        run(create, server.url)
    assert [(m, t) for m, t, _ in server.seen] == [("POST", "/v1/notes")]


@pytest.mark.parametrize("run", RUNS)
def test_a_redirect_loop_is_refused_after_one_try(server: Redirecting, run: Run) -> None:
    """POST answered 307 to itself for ever: the 21st redirect is the answer, `RequestRefused`
    after 21 requests (it was resent as a lost answer, 357 requests in 3 s)."""
    server.writes = {"POST": (307, "/v1/notes")}
    with pytest.raises(RequestRefused) as refused:
        run(create, server.url)
    assert "20 were followed to it, a loop or too long a chain" in str(refused.value)
    assert len(server.seen) == 21


@pytest.mark.parametrize("run", RUNS)
def test_a_redirect_that_keeps_the_method_is_followed(server: Redirecting, run: Run) -> None:
    """A 307 and a 308 to the same origin keep the method and the body: followed, the write
    applied where they point."""
    server.writes = {"PATCH": (307, "/v2/notes/a")}
    moved = Redirecting({})
    with hostile_server(moved):
        server.writes["PATCH"] = (308, moved.url + "/v2/notes/a")
        stored = run(update, server.url)
    assert stored.document == {"n": 1}  # the new home answers PATCH as a GET: its document
    assert [(m, t) for m, t, _ in moved.seen] == [("PATCH", "/v2/notes/a")]


def watch_once(client: Any) -> Any:
    """The watch opened once: its first change, or (as here) the error its answer makes."""
    if isinstance(client, ConflictClient):
        with pytest.raises(ConflictError):
            next(iter(client.watch("/v1/notes", heartbeat=1)))
        return None

    async def first() -> None:
        with pytest.raises(ConflictError):
            await anext(aiter(client.watch("/v1/notes", heartbeat=1)))

    return first()


@pytest.mark.parametrize("run", RUNS)
@pytest.mark.parametrize("operation", [update, create, watch_once])
def test_no_credentials_reach_another_origin(
    server: Redirecting, run: Run, operation: Operation
) -> None:
    """Every request 307 to another origin (another port), the client made with auth= and
    cookies=: the other origin gets no Authorization and no Cookie; it once got
    ``Basic YWxpY2U6czNjcmV0`` on the GET, the PATCH, the POST and the watch's GET."""
    other = Redirecting({})
    with hostile_server(other):
        server.writes = dict.fromkeys(("GET", "PATCH", "POST"), (307, other.url + "/moved"))
        with contextlib.suppress(ConflictError):
            run(operation, server.url, auth=("alice", "s3cret"), cookies={"session": "s3cret"})
    assert other.seen
    assert all("authorization" not in fields for _, _, fields in other.seen)
    assert all("cookie" not in fields for _, _, fields in other.seen)
    first = server.seen[0][2]
    assert (first["authorization"], first["cookie"]) == ("Basic YWxpY2U6czNjcmV0", "session=s3cret")


@pytest.mark.parametrize("run", RUNS)
def test_credentials_stay_on_a_redirect_to_the_same_origin(server: Redirecting, run: Run) -> None:
    """A 307 within the origin keeps the Authorization the first request had, as httpx does."""
    server.writes = {"PATCH": (307, "/login")}
    with contextlib.suppress(ConflictError):
        run(update, server.url, auth=("alice", "s3cret"))
    assert [(m, t, f.get("authorization")) for m, t, f in server.seen] == [
        ("GET", "/v1/notes/a", "Basic YWxpY2U6czNjcmV0"),
        ("PATCH", "/v1/notes/a", "Basic YWxpY2U6czNjcmV0"),
        ("PATCH", "/login", "Basic YWxpY2U6czNjcmV0"),
    ]
