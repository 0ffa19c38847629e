"""The access log: one line per request, naming the problem type, as text or JSON."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

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


def test_text_lines(tmp_path: Path) -> None:
    """--log-format text: a grep-able line with the problem type or '-'."""
    db = str(tmp_path / "text.db")
    with start_service(db, tmp_path, extra=("--log-format", "text")) as service:
        provoke_412(service)
        found = lines(service, r" PUT /v1/notes/x ", count=2)
    assert len(found) == 2
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
    assert re.fullmatch(stamp + r" PUT /v1/notes/x 201 - \d+\.\d\dms", found[0])
    assert re.fullmatch(stamp + r" PUT /v1/notes/x 412 precondition-failed \d+\.\d\dms", found[1])


@pytest.mark.parametrize("fmt", ["off"])
def test_off(tmp_path: Path, fmt: str) -> None:
    """--log-format off writes no access line."""
    with start_service(str(tmp_path / "off.db"), tmp_path, extra=("--log-format", fmt)) as service:
        provoke_412(service)
        time.sleep(0.3)  # time for a line that should not come
        assert lines(service, r"/v1/notes/x", count=0) == []
