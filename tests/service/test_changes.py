"""The change feed through the real service (SQLite, PostgreSQL): its contract, both forms."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from httpconflict.httpx import Change
from tests.problems import assert_problem
from tests.servers import ServiceProcess
from tests.sse import Event, events

JSON = {"content-type": "application/json"}
STREAM = {"accept": "text/event-stream"}


@pytest.fixture
def http(service: ServiceProcess) -> Iterator[httpx.Client]:
    with service.client() as client:
        yield client


@pytest.fixture
def collection() -> str:
    return f"feed-{uuid.uuid4().hex[:8]}"


def put(http: httpx.Client, path: str, body: str, etag: str | None = None) -> str:
    precondition = {"If-None-Match": "*"} if etag is None else {"If-Match": etag}
    answer = http.put(path, content=body, headers={**JSON, **precondition})
    assert answer.status_code in (200, 201), answer.text
    return str(answer.headers["etag"])


def page(http: httpx.Client, collection: str, **params: Any) -> dict[str, Any]:
    answer = http.get(f"/v1/{collection}/_changes", params=params)
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    body: dict[str, Any] = answer.json()
    return body


def test_json_pages_hold_every_change_in_order(http: httpx.Client, collection: str) -> None:
    """Creates, replaces and a delete come as changes in seq order, paged by last_seq."""
    start = page(http, collection, since="now")["last_seq"]
    etag = put(http, f"/v1/{collection}/a", '{"n": 1}')
    put(http, f"/v1/{collection}/b", '{"n": 1}')
    put(http, f"/v1/other-{collection}/a", '{"n": 1}')
    etag = put(http, f"/v1/{collection}/a", '{"n": 2}', etag)
    assert http.delete(f"/v1/{collection}/a", headers={"If-Match": etag}).status_code == 204
    first = page(http, collection, since=start, limit=2)
    assert [(c["id"], c["version"]) for c in first["results"]] == [("a", 1), ("b", 1)]
    assert first["last_seq"] == first["results"][-1]["seq"]
    rest = page(http, collection, since=first["last_seq"], limit=100)
    assert [(c["id"], c["version"], c["deleted"]) for c in rest["results"]] == [
        ("a", 2, False),
        ("a", 3, True),
    ]
    change = rest["results"][0]
    assert change["etag"] == etag
    assert change["modified"].endswith("Z")
    assert rest["results"][1]["etag"] is None
    seqs = [c["seq"] for c in first["results"] + rest["results"]]
    assert seqs == sorted(set(seqs))
    assert page(http, collection, since=rest["last_seq"]) == {
        "results": [],
        "last_seq": rest["last_seq"],
    }
    only_b = page(http, collection, since=start, id="b")
    assert [c["id"] for c in only_b["results"]] == ["b"]
    # The default since of a page is 0: everything kept.
    assert len(page(http, collection)["results"]) == 4


def test_a_purge_is_told_from_the_delete_before_it(http: httpx.Client, collection: str) -> None:
    """A delete, then ``?purge=true``: two changes alike but for ``purged`` (they were alike:
    same version, no ETag, deleted); a delete that purges at once says so too."""
    start = page(http, collection, since="now")["last_seq"]
    etag = put(http, f"/v1/{collection}/a", '{"n": 1}')
    assert http.delete(f"/v1/{collection}/a", headers={"If-Match": etag}).status_code == 204
    assert http.delete(f"/v1/{collection}/a", params={"purge": "true"}).status_code == 204
    etag = put(http, f"/v1/{collection}/b", '{"n": 1}')
    purging = http.delete(f"/v1/{collection}/b?purge=true", headers={"If-Match": etag})
    assert purging.status_code == 204
    results = page(http, collection, since=start)["results"]
    assert [(c["id"], c["version"], c["deleted"], c.get("purged")) for c in results] == [
        ("a", 1, False, None),
        ("a", 2, True, None),
        ("a", 2, True, True),
        ("b", 1, False, None),
        ("b", 2, True, True),
    ]
    assert [Change.from_json(json.dumps(c)).purged for c in results] == [
        False, False, True, False, True,
    ]  # fmt: skip


def test_a_long_poll_answers_when_a_change_comes(http: httpx.Client, collection: str) -> None:
    """A page with wait answers as soon as the collection changes, with that change."""
    since = page(http, collection, since="now")["last_seq"]

    def write() -> None:
        with httpx.Client(base_url=str(http.base_url)) as writer:
            put(writer, f"/v1/{collection}/w", "{}")

    timer = threading.Timer(0.3, write)
    timer.start()
    started = time.monotonic()
    got = page(http, collection, since=since, wait=20)
    timer.join()
    assert [c["id"] for c in got["results"]] == ["w"]
    assert time.monotonic() - started < 15
    empty = page(http, collection, since=got["last_seq"], wait=1)
    assert empty["results"] == []


def read_until(stream: Iterator[Event], count: int, kind: str = "change") -> list[Event]:
    found: list[Event] = []
    for event in stream:
        if event.event == kind:
            found.append(event)
            if len(found) == count:
                return found
    raise AssertionError("the stream ended")


def test_a_stream_sends_heartbeats_then_changes(
    http: httpx.Client, collection: str, service: ServiceProcess
) -> None:
    """An event stream starts with a heartbeat, sends each change as it commits, and resumes.

    Its access-log line is written when it ends, with its whole duration.
    """
    with http.stream(
        "GET", f"/v1/{collection}/_changes", params={"heartbeat": 1}, headers=STREAM
    ) as answer:
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/event-stream")
        assert answer.headers["cache-control"] == "no-store"
        assert "etag" not in answer.headers
        assert "content-encoding" not in answer.headers
        # Connection-specific, and the transport's to say: never a "keep-alive"
        # beside the server's own "close" (HTTP/2 forbids the field).
        assert "connection" not in answer.headers
        stream = events(answer)
        first = next(stream)
        assert first.event == "heartbeat"
        assert first.id == str(first.data["seq"])
        with httpx.Client(base_url=str(http.base_url)) as writer:
            etag = put(writer, f"/v1/{collection}/s", '{"n": 1}')
            put(writer, f"/v1/{collection}/s", '{"n": 2}', etag)
        one, two = read_until(stream, 2)
        assert (one.data["id"], one.data["version"], two.data["version"]) == ("s", 1, 2)
        assert one.id == str(one.data["seq"])
        assert int(one.id) > int(first.id)
        beat = read_until(stream, 1, "heartbeat")[0]
        assert int(beat.data["seq"]) >= int(two.data["seq"])
    # Last-Event-ID wins over since: the stream resumes after the first change.
    headers = {**STREAM, "last-event-id": one.id}
    with http.stream(
        "GET", f"/v1/{collection}/_changes", params={"since": "now"}, headers=headers
    ) as answer:
        stream = events(answer)
        assert next(stream).data["seq"] == int(one.id)
        assert read_until(stream, 1)[0].data["version"] == 2
    logged = service.wait_for_log(
        lambda r: r["path"] == f"/v1/{collection}/_changes" and r["duration_ms"] >= 1000
    )
    assert logged
    assert logged[0]["status"] == 200


@pytest.mark.parametrize(
    ("params", "headers", "parameter"),
    [
        pytest.param({"since": "-1"}, {}, "since", id="negative-since"),
        pytest.param({"since": "x"}, {}, "since", id="since-not-integer"),
        pytest.param({"limit": "0"}, {}, "limit", id="limit-zero"),
        pytest.param({"limit": "1001"}, {}, "limit", id="limit-too-large"),
        pytest.param({"wait": "61"}, {}, "wait", id="wait-too-long"),
        pytest.param({"heartbeat": "0"}, STREAM, "heartbeat", id="heartbeat-zero"),
        pytest.param(
            {}, {**STREAM, "last-event-id": "abc"}, "Last-Event-ID", id="bad-last-event-id"
        ),
        # Checked too where it has no effect: on a page, and where Last-Event-ID wins.
        pytest.param({}, {"last-event-id": "abc"}, "Last-Event-ID", id="page-bad-last-event-id"),
        pytest.param(
            {}, {"last-event-id": "-5"}, "Last-Event-ID", id="page-negative-last-event-id"
        ),
        pytest.param(
            {"since": "abc"}, {**STREAM, "last-event-id": "0"}, "since", id="overruled-bad-since"
        ),
        pytest.param(
            {"since": "-1"},
            {**STREAM, "last-event-id": "0"},
            "since",
            id="overruled-negative-since",
        ),
        pytest.param({"id": "_x"}, {}, "document", id="reserved-id"),
        # A parameter given twice has no one meaning: which since, which document?
        pytest.param([("since", "0"), ("since", "1")], {}, "since", id="since-twice"),
        pytest.param([("id", "a"), ("id", "b")], {}, "id", id="id-twice"),
        pytest.param([("limit", "1"), ("limit", "2")], {}, "limit", id="limit-twice"),
        pytest.param(
            {},
            [*STREAM.items(), ("last-event-id", "0"), ("last-event-id", "1")],
            "Last-Event-ID",
            id="last-event-id-twice",
        ),
    ],
)
def test_bad_parameters_are_400(
    http: httpx.Client,
    collection: str,
    params: Any,
    headers: Any,
    parameter: str,
) -> None:
    """A bad since, limit, wait, heartbeat or Last-Event-ID, or one given twice: 400 naming it."""
    answer = http.get(f"/v1/{collection}/_changes", params=params, headers=headers)
    problem = assert_problem(answer, 400, "invalid-parameter")
    assert problem["parameter"] == parameter


def test_an_empty_last_event_id_is_no_last_event_id(http: httpx.Client, collection: str) -> None:
    """An empty Last-Event-ID (an EventSource's "no last event ID") leaves since to decide.

    WHATWG HTML §9.2.4: the last event ID string starts empty, and an empty
    one is what a client holds before its first event id.
    """
    start = page(http, collection, since="now")["last_seq"]
    put(http, f"/v1/{collection}/e", "{}")
    headers = {**STREAM, "last-event-id": ""}
    with http.stream(
        "GET", f"/v1/{collection}/_changes", params={"since": start}, headers=headers
    ) as answer:
        assert answer.status_code == 200, answer.read()
        stream = events(answer)
        assert next(stream).data["seq"] == start
        assert read_until(stream, 1)[0].data["id"] == "e"


@pytest.mark.parametrize(
    ("accept", "form"),
    [
        pytest.param("text/event-stream", "stream", id="eventsource"),
        pytest.param("application/json", "page", id="json"),
        pytest.param("*/*", "page", id="anything"),
        pytest.param("text/event-stream;q=0", "page", id="rfc9110-12.4.2-q0-not-acceptable"),
        pytest.param("application/json;q=0.5, text/event-stream", "stream", id="stream-preferred"),
        pytest.param("text/event-stream;q=0.5, application/json", "page", id="json-preferred"),
        pytest.param("text/event-stream;q=0.5, */*", "page", id="anything-preferred"),
        pytest.param("text/event-stream, */*;q=0.1", "stream", id="stream-then-anything"),
        pytest.param("text/event-stream;q=0.5, application/json;q=0.5", "stream", id="tie"),
    ],
)
def test_the_form_is_the_one_accept_prefers(
    http: httpx.Client, collection: str, accept: str, form: str
) -> None:
    """An event stream when Accept prefers it to JSON (RFC 9110 §12.5.1 q-values), else a page."""
    with http.stream(
        "GET", f"/v1/{collection}/_changes", params={"since": 0}, headers={"accept": accept}
    ) as answer:
        assert answer.status_code == 200
        media = answer.headers["content-type"].partition(";")[0]
        assert media == {"stream": "text/event-stream", "page": "application/json"}[form]
        # The answer depends on Accept: a cache must know (RFC 9110 §12.5.5).
        assert "accept" in answer.headers["vary"].lower().replace(" ", "").split(",")


def test_a_since_beyond_the_latest_change_is_400(http: httpx.Client, collection: str) -> None:
    """A since no change of this database has reached is refused, naming the latest."""
    latest = page(http, collection, since="now")["last_seq"]
    answer = http.get(f"/v1/{collection}/_changes", params={"since": latest + 1000})
    problem = assert_problem(answer, 400, "invalid-parameter")
    assert problem["latest"] >= latest


def test_a_last_event_id_beyond_the_latest_change_is_400_naming_it(
    http: httpx.Client, collection: str
) -> None:
    """The 400 names the field the client sent, not a since it did not send."""
    latest = page(http, collection, since="now")["last_seq"]
    headers = {**STREAM, "last-event-id": str(latest + 1000)}
    answer = http.get(f"/v1/{collection}/_changes", headers=headers)
    problem = assert_problem(answer, 400, "invalid-parameter")
    assert problem["parameter"] == "Last-Event-ID"
    assert problem["detail"].startswith(f"Last-Event-ID {latest + 1000} is beyond")


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
def test_other_methods_are_405(http: httpx.Client, collection: str, method: str) -> None:
    """The feed is read only: 405 naming GET and HEAD, not a 400 for the reserved name."""
    answer = http.request(method, f"/v1/{collection}/_changes", json={"n": 1})
    assert_problem(answer, 405, "method-not-allowed")
    assert answer.headers["allow"] == "GET, HEAD"
    assert page(http, collection)["results"] == []
