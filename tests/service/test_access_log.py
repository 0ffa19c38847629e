"""The access log: one line per request, naming the problem type, as text or JSON."""

from __future__ import annotations

import asyncio
import io
import re
import time
from pathlib import Path

import pytest

from httpconflict.asgi import ASGIApp, Message, Receive, Scope, Send
from httpconflict.service.accesslog import AccessLog
from tests.servers import ServiceProcess, start_service

JSON = {"content-type": "application/json"}


def provoke_412(service: ServiceProcess) -> None:
    with service.client() as http:
        http.put("/v1/notes/x", content=b'{"a": 1}', headers={**JSON, "If-None-Match": "*"})
        response = http.put(
            "/v1/notes/x", content=b'{"a": 2}', headers={**JSON, "If-Match": '"old"'}
        )
        assert response.status_code == 412


def lines(service: ServiceProcess, pattern: str, count: int) -> list[str]:
    """The log lines matching `pattern`, waiting (up to 5 s) for `count` of them."""
    deadline = time.monotonic() + 5
    while True:
        text = service.log_path.read_text()
        found = [line for line in text.splitlines() if re.search(pattern, line)]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.02)


def test_json_lines(service: ServiceProcess) -> None:
    """--log-format json: method, path, status, problem, duration, client and worker per line."""
    provoke_412(service)
    records = service.wait_for_log(lambda r: r["status"] == 412)
    assert records
    record = records[-1]
    assert record["method"] == "PUT"
    assert record["path"] == "/v1/notes/x"
    assert record["problem"] == "precondition-failed"
    assert record["client"] == "127.0.0.1"
    assert isinstance(record["duration_ms"], float)
    assert isinstance(record["worker"], int)
    assert record["time"].endswith("Z")
    ok = [r for r in service.access_log() if r["status"] == 201 and r["path"] == "/v1/notes/x"]
    assert ok
    assert ok[0]["problem"] is None
    assert ok[0]["principal"] is None  # no authentication configured


def test_text_lines(tmp_path: Path) -> None:
    """--log-format text: a grep-able line with the problem type or '-'."""
    db = str(tmp_path / "text.db")
    with start_service(db, tmp_path, extra=("--log-format", "text")) as service:
        provoke_412(service)
        found = lines(service, r" PUT /v1/notes/x ", count=2)
    assert len(found) == 2
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
    # The last field is the principal: "-" where no authentication ran.
    assert re.fullmatch(stamp + r" PUT /v1/notes/x 201 - \d+\.\d\dms -", found[0])
    assert re.fullmatch(stamp + r" PUT /v1/notes/x 412 precondition-failed \d+\.\d\dms -", found[1])


@pytest.mark.parametrize("fmt", ["off"])
def test_off(tmp_path: Path, fmt: str) -> None:
    """--log-format off writes no access line."""
    with start_service(str(tmp_path / "off.db"), tmp_path, extra=("--log-format", fmt)) as service:
        provoke_412(service)
        time.sleep(0.3)  # time for a line that should not come
        assert lines(service, r"/v1/notes/x", count=0) == []


def logged(app: ASGIApp, messages: list[Message]) -> str:
    """The text line AccessLog writes for one POST to `app`, its receive giving `messages`."""
    stream = io.StringIO()
    pending = iter(messages)

    async def receive() -> Message:
        return next(pending)

    async def send(message: Message) -> None:
        pass

    scope = {"type": "http", "method": "POST", "path": "/v1/notes", "headers": []}
    asyncio.run(AccessLog(app, stream=stream)(scope, receive, send))
    return stream.getvalue()


async def reads_until_the_end(scope: Scope, receive: Receive, send: Send) -> None:
    """An app that stops, answering nothing, when the client goes away before the body's end."""
    while (message := await receive())["type"] != "http.disconnect":
        if not message.get("more_body"):
            await send({"type": "http.response.start", "status": 201, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return


def test_a_request_cut_off_by_its_client_is_499() -> None:
    """The client went away mid-body and nothing answered: 499, as nginx logs it; no 500."""
    cut: list[Message] = [
        {"type": "http.request", "body": b"{", "more_body": True},
        {"type": "http.disconnect"},
    ]
    line = logged(reads_until_the_end, cut)
    assert re.fullmatch(r"\S+ POST /v1/notes 499 - \d+\.\d\dms -\n", line), line
    whole: list[Message] = [{"type": "http.request", "body": b"{}", "more_body": False}]
    assert " POST /v1/notes 201 - " in logged(reads_until_the_end, whole)


def test_an_app_that_answers_nothing_for_no_reason_is_500() -> None:
    """Returning without an answer while the client is still there is the app's failure: 500."""

    async def silent(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()

    line = logged(silent, [{"type": "http.request", "body": b"{}", "more_body": False}])
    assert " POST /v1/notes 500 " in line
