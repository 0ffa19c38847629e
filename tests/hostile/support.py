"""What the hostile suites share: the worker's memory, texts stored behind its back, refusals."""

from __future__ import annotations

import json
import math
import sqlite3
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.problems import assert_problem
from tests.servers import ServiceProcess

JSON = "application/json"
MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
ORIGINAL = b'{"keep":"me","n":1}'


@dataclass(frozen=True)
class Watched:
    """A running service, its worker's process id, and its resident memory at the start."""

    service: ServiceProcess
    pid: int
    start_rss: int

    @property
    def backend(self) -> str:
        return "postgres" if self.service.db.startswith("postgresql") else "sqlite"


def worker_pid(pid: int) -> int:
    """The process that answers requests: the server itself, or its one child (uvicorn's worker)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return int(children[0]) if children else pid


def resident_bytes(pid: int) -> int:
    """A process's resident set size (VmRSS in /proc/<pid>/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for process {pid}")


def create(http: httpx.Client, collection: str, body: bytes = ORIGINAL) -> tuple[str, str]:
    """A new document in `collection`: (its URL, its ETag)."""
    url = f"/v1/{collection}/{uuid.uuid4().hex}"
    response = http.put(url, content=body, headers={"content-type": JSON, "If-None-Match": "*"})
    assert response.status_code == 201, response.text
    return url, response.headers["etag"]


def store_behind_its_back(service: ServiceProcess, url: str, text: bytes) -> None:
    """Replace a stored document's text in the database, as an older version could have stored it.

    The ETag column is left as it was, so a PATCH with the old ETag reaches the text.
    """
    _, _, collection, doc_id = url.split("/")
    if service.db.startswith("postgresql"):
        import psycopg

        with psycopg.connect(service.db, autocommit=True) as pg:
            pg.execute(
                "UPDATE documents SET body = %s WHERE collection = %s AND id = %s",
                (text.decode(), collection, doc_id),
            )
        return
    db = sqlite3.connect(service.db)
    with db:
        # The history trigger records the new version under the next number.
        db.execute(
            "UPDATE documents SET body = ?, version = version + 1 WHERE collection = ? AND id = ?",
            (text.decode(), collection, doc_id),
        )
    db.close()


def snapshot(http: httpx.Client, url: str) -> tuple[int, bytes, str | None, int]:
    """What a refusal must leave as it was: status, text, ETag, and how many versions there are."""
    current = http.get(url)
    versions = http.get(url + "/versions?limit=1000")
    # Counted in the text: a document too deep for the test's own parser may be in it.
    count = versions.content.count(b'{"version":') if versions.status_code == 200 else -1
    return current.status_code, current.content, current.headers.get("etag"), count


def assert_refused(response: httpx.Response) -> dict[str, Any]:
    """A 4xx problem answer (status and type consistent); its body."""
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:500])
    return assert_problem(response, response.status_code)


def strict_json(text: bytes) -> Any:
    """Parse a stored text as a strict reader would: no NaN or Infinity, no lone surrogate."""

    def refuse(name: str) -> Any:
        raise AssertionError(f"{name} is not JSON")

    def finite(number: str) -> float:
        value = float(number)
        assert math.isfinite(value), f"{number} is no double"
        return value

    value = json.loads(text, parse_constant=refuse, parse_float=finite)
    json.dumps(value, ensure_ascii=False).encode()  # a lone surrogate has no UTF-8
    return value
