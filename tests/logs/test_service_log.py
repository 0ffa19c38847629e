"""A real access log: run `httpconflict serve`, provoke 409/412/428 over HTTP, read its log.

The service writes each answer's problem type on its access line, so the
tool's causes are checked as well as its counts; the log also holds the
server's own messages (stderr goes to the same file), which are counted
as unrecognised.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.logs.running import causes, cli, rows
from tests.servers import ServiceProcess, start_service

JSON = {"content-type": "application/json"}
JSON_PATCH = {"content-type": "application/json-patch+json"}
# An access line of either format, and one answered 409, 412 or 428.
ACCESS = re.compile(r'^\{.*"status":\d{3}|^\d{4}-\d\d-\d\dT\S+Z [A-Z]+ .* \d{3} \S+ [\d.]+ms \S+$')
CONFLICT = re.compile(
    r'"status":(?:409|412|428)\b|^\S+ [A-Z]+ .* (?:409|412|428) \S+ [\d.]+ms \S+$'
)


def provoke(http: httpx.Client) -> None:
    """4 x 412, 2 x 428 on /v1/notes/{id}; 2 x 409 on /v1/users/{id}; 1 x 409 on a note."""

    def expect(response: httpx.Response, status: int) -> httpx.Response:
        assert response.status_code == status, response.text
        return response

    for note in ("1", "2", "3"):
        expect(http.put(f"/v1/notes/{note}", json={"n": note}, headers={"If-None-Match": "*"}), 201)
        expect(http.put(f"/v1/notes/{note}", json={"n": 0}, headers={"If-Match": '"stale"'}), 412)
    expect(http.put("/v1/notes/1", json={"n": 1}, headers={"If-None-Match": "*"}), 412)
    for note in ("2", "3"):
        expect(http.put(f"/v1/notes/{note}", json={"n": 9}), 428)
    etag = expect(http.get("/v1/notes/1"), 200).headers["etag"]
    ops = [{"op": "test", "path": "/n", "value": "not this"}]
    patch = http.patch(
        "/v1/notes/1", content=json.dumps(ops).encode(), headers={**JSON_PATCH, "If-Match": etag}
    )
    expect(patch, 409)
    expect(http.put("/v1/_collections/users", json={"unique": ["email"]}), 200)
    taken = {"email": "ann@example.com"}
    expect(http.put(f"/v1/users/{uuid.uuid4()}", json=taken, headers={"If-None-Match": "*"}), 201)
    for _ in range(2):
        user = f"/v1/users/{uuid.uuid4()}"
        expect(http.put(user, json=taken, headers={"If-None-Match": "*"}), 409)


def access_lines(log: Path, conflicts: int) -> list[str]:
    """The log's access lines, once `conflicts` of them answer 409/412/428 (or 5 s passed)."""
    deadline = time.monotonic() + 5
    while True:
        lines = [line for line in log.read_text().splitlines() if ACCESS.search(line)]
        if sum(bool(CONFLICT.search(line)) for line in lines) >= conflicts or (
            time.monotonic() > deadline
        ):
            return lines
        time.sleep(0.02)


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_the_services_own_log(tmp_path: Path, log_format: str) -> None:
    """Counts by status, route, method, client, and the causes, from a real access log."""
    db = str(tmp_path / "service.db")
    service: ServiceProcess
    with start_service(db, tmp_path, extra=("--log-format", log_format)) as service:
        with service.client() as http:
            provoke(http)
        lines = access_lines(service.log_path, conflicts=9)
        done = cli(str(service.log_path), "--json")
        total = len(service.log_path.read_text().splitlines())  # before the shutdown messages
    assert done.returncode == 0, done.stderr.decode()
    report = json.loads(done.stdout)
    assert report["formats"] == {f"service-{log_format}": len(lines)}
    assert report["lines"]["unrecognised"] == total - len(lines)  # the server's own messages
    assert report["lines"]["unrecognised"] > 0
    assert report["conflicts"] == {"409": 3, "412": 4, "428": 2, "total": 9}
    assert rows(report, "routes", "route") == {
        ("/v1/notes/{id}", 412): 4,
        ("/v1/notes/{id}", 428): 2,
        ("/v1/notes/{id}", 409): 1,
        ("/v1/users/{id}", 409): 2,
    }
    assert rows(report, "methods", "method") == {
        ("PUT", 412): 4,
        ("PUT", 428): 2,
        ("PUT", 409): 2,
        ("PATCH", 409): 1,
    }
    client = "127.0.0.1" if log_format == "json" else "-"  # the text line has no client
    assert rows(report, "clients", "client") == {
        (client, 412): 4,
        (client, 428): 2,
        (client, 409): 3,
    }
    assert causes(report) == {
        ("precondition-failed", 412): 4,
        ("precondition-required", 428): 2,
        ("unique-violation", 409): 2,
        ("patch-test-failed", 409): 1,
    }
    assert report["uncaused"] == 0
    assert report["untimed"] == 0
    assert sum(bucket["total"] for bucket in report["timeline"]) == 9
