"""The httpx drivers over a scripted transport: the errors raised, the waits, the memory."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable

import httpx
import pytest

from httpconflict._problem import PROBLEM_TYPE_BASE
from httpconflict.httpx import (
    AsyncConflictClient,
    ConflictClient,
    ConflictError,
    GiveUpReason,
    RequestRefused,
    RetriesExhausted,
    RetryPolicy,
    UnusableAnswer,
    VirtualClock,
)

BASE = "http://api.test"
URL = BASE + "/v1/notes/n1"
Handler = Callable[[httpx.Request], httpx.Response]


def problem(status: int, slug: str, headers: dict[str, str] | None = None) -> httpx.Response:
    body = {"type": PROBLEM_TYPE_BASE + slug, "title": slug.replace("-", " "), "status": status}
    return httpx.Response(
        status,
        content=json.dumps(body).encode(),
        headers={"content-type": "application/problem+json", **(headers or {})},
    )


def note(etag: str = '"e1"', **members: object) -> httpx.Response:
    return httpx.Response(200, json={"count": 1, **members}, headers={"etag": etag})


class Script:
    """A transport that answers from a handler and records each request."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.handler(request)

    def client(
        self, policy: RetryPolicy | None = None, clock: VirtualClock | None = None
    ) -> ConflictClient:
        http = httpx.Client(base_url=BASE, transport=httpx.MockTransport(self))
        return ConflictClient(http, policy=policy, clock=clock or VirtualClock())

    def async_client(
        self, policy: RetryPolicy | None = None, clock: VirtualClock | None = None
    ) -> AsyncConflictClient:
        http = httpx.AsyncClient(base_url=BASE, transport=httpx.MockTransport(self))
        return AsyncConflictClient(http, policy=policy, clock=clock or VirtualClock())


@pytest.fixture
def busy() -> Script:
    """A server that is always unavailable, asking for a 1 s wait."""
    return Script(lambda request: problem(503, "unavailable", {"retry-after": "1"}))


def test_exhausted_retries_raise_with_everything_known(busy: Script) -> None:
    """RetriesExhausted: the last response, its problem, the attempts, one readable line."""
    clock = VirtualClock()
    client = busy.client(RetryPolicy(attempts=4), clock)
    with pytest.raises(RetriesExhausted) as raised:
        client.update("/v1/notes/n1", lambda doc: None)
    error = raised.value
    assert (error.reason, error.attempts, error.status) == (GiveUpReason.ATTEMPTS_EXHAUSTED, 4, 503)
    assert isinstance(error.response, httpx.Response)
    assert error.response.request.method == "GET"
    assert error.problem is not None
    assert error.problem.type == PROBLEM_TYPE_BASE + "unavailable"
    assert str(error) == (
        f"update of {URL} gave up after 4 attempts: all 4 attempts were made; "
        "last: GET answered 503 unavailable: unavailable"
    )
    # Three waits, each at least the second the server asked for; none was slept.
    assert len(clock.slept) == 3
    assert all(delay >= 1.0 for delay in clock.slept)
    assert len(busy.requests) == 4


def test_the_time_budget_stops_the_retries(busy: Script) -> None:
    """A 1 s wait against a 2.5 s budget: two waits fit, the third would not."""
    clock = VirtualClock()
    client = busy.client(RetryPolicy(attempts=100, budget=2.5, base=0.0, cap=0.0), clock)
    with pytest.raises(RetriesExhausted) as raised:
        client.update(URL, lambda doc: None)
    assert raised.value.reason is GiveUpReason.TIME_BUDGET_SPENT
    assert clock.slept == [1.0, 1.0]
    assert "time budget of 2.5 s" in str(raised.value)


def test_lost_answers_chain_the_transport_error() -> None:
    """No answer ever: no response, and the httpx error is the cause."""

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(RetriesExhausted) as raised:
        Script(refuse).client(RetryPolicy(attempts=2)).create("/v1/notes", {"a": 1})
    assert raised.value.response is None
    assert isinstance(raised.value.__cause__, httpx.ConnectError)
    assert "POST got no answer (ConnectError: connection refused)" in str(raised.value)


def test_a_refusal_raises_at_once() -> None:
    """404 to the read: RequestRefused after one attempt, the change never run."""
    script = Script(lambda request: problem(404, "not-found"))
    with pytest.raises(RequestRefused) as raised:
        script.client().update(URL, lambda doc: pytest.fail("must not run"))
    assert (raised.value.attempts, raised.value.status) == (1, 404)
    assert isinstance(raised.value, ConflictError)
    assert len(script.requests) == 1


def test_an_unusable_answer_raises() -> None:
    """A document without an ETag cannot be updated conditionally: UnusableAnswer."""
    script = Script(lambda request: httpx.Response(200, json={"count": 1}))
    with pytest.raises(UnusableAnswer, match="came without an ETag"):
        script.client().update(URL, lambda doc: None)


def test_create_keys_are_fresh_per_call_and_kept_across_retries() -> None:
    """Each create() makes a UUID key; its retries resend that key unchanged."""
    answers = iter([problem(503, "unavailable"), None, None])

    def handler(request: httpx.Request) -> httpx.Response:
        answer = next(answers)
        if answer is not None:
            return answer
        headers = {"location": f"/v1/notes/{uuid.uuid4().hex}", "etag": '"c1"'}
        return httpx.Response(201, content=request.content, headers=headers)

    script = Script(handler)
    client = script.client()
    first = client.create("/v1/notes", {"item": "tea"})
    client.create("/v1/notes", {"item": "tea"})
    keys = [r.headers["idempotency-key"] for r in script.requests]
    assert keys[0] == keys[1] != keys[2]
    assert all(k.startswith('"') and k.endswith('"') for k in keys)
    uuid.UUID(keys[0].strip('"'))
    assert first.attempts == 2
    # The created document's ETag is remembered at its Location.
    assert client.etags.recall(first.url) == '"c1"'


def test_passthrough_methods_add_if_match_from_memory() -> None:
    """GET teaches the ETag; PUT and DELETE carry it; the caller's own If-Match wins."""
    script = Script(
        lambda request: httpx.Response(204) if request.method == "DELETE" else note('"e1"')
    )
    client = script.client()
    assert client.put(URL, json={}).request.headers.get("if-match") is None
    client.get("/v1/notes/n1")
    assert client.put(URL, json={}).request.headers["if-match"] == '"e1"'
    mine = client.patch(URL, json={}, headers={"If-Match": '"mine"'})
    assert mine.request.headers["if-match"] == '"mine"'
    assert client.delete(URL).request.headers["if-match"] == '"e1"'
    assert client.etags.recall(URL) is None
    assert client.post(URL, json={}).request.headers.get("if-match") is None


def test_the_client_closes_only_what_it_made() -> None:
    """A client passed in stays open; one made by ConflictClient is closed with it."""
    http = httpx.Client(transport=httpx.MockTransport(lambda request: note()))
    with ConflictClient(http):
        pass
    assert not http.is_closed
    with ConflictClient() as own:
        pass
    assert own.client.is_closed
    http.close()


def test_async_exhausted_retries_raise_the_same(busy: Script) -> None:
    """The async driver runs the same flow: same attempts, same waits, same error."""
    clock = VirtualClock()

    async def run() -> None:
        async with busy.async_client(RetryPolicy(attempts=3), clock) as client:
            await client.update(URL, lambda doc: None)

    with pytest.raises(RetriesExhausted) as raised:
        asyncio.run(run())
    assert (raised.value.attempts, raised.value.status, len(clock.slept)) == (3, 503, 2)


def test_async_passthrough_adds_if_match() -> None:
    """The async passthrough methods share the memory rules."""
    script = Script(lambda request: note('"e2"'))

    async def run() -> httpx.Response:
        client = script.async_client()
        await client.get(URL)
        response = await client.put(URL, json={})
        await client.client.aclose()
        return response

    assert asyncio.run(run()).request.headers["if-match"] == '"e2"'
