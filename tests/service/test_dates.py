"""Over real HTTP, every answer has one Date, stamped as it is sent, and Last-Modified <= Date.

uvicorn's Date is refreshed by a timer once a second: before the service
stamped its own, about 45% of the answers to writes said they were
modified after they were sent (RFC 9110 §8.8.2.1: MUST NOT).
"""

from __future__ import annotations

import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from httpconflict._httpdate import parse_http_date
from tests.servers import start_service

WRITES = 300


def check_dates(response: httpx.Response, sent: float, received: float) -> None:
    dates = response.headers.get_list("date")
    assert len(dates) == 1, f"{response.request.method} {response.status_code}: {dates}"
    date = parse_http_date(dates[0]).timestamp()
    # One-second resolution: the answer's second lies between sending and receiving.
    assert int(sent) <= date <= received
    if "last-modified" in response.headers:
        assert parse_http_date(response.headers["last-modified"]).timestamp() <= date


def test_last_modified_is_never_later_than_date(tmp_path: Path) -> None:
    """300 creates, updates and reads: every answer's Last-Modified is at most its Date."""
    with start_service(str(tmp_path / "service.db"), tmp_path) as service, service.client() as http:
        checked = 0
        for n in range(WRITES):
            url = f"/v1/dates/d{n % 30}"
            sent = time.time()
            if n < 30:
                answer = http.put(url, json={"n": n}, headers={"If-None-Match": "*"})
            else:
                etag = http.get(url).headers["etag"]
                sent = time.time()
                answer = http.put(url, json={"n": n}, headers={"If-Match": etag})
            check_dates(answer, sent, time.time())
            sent = time.time()
            check_dates(http.get(url), sent, time.time())
            checked += 2
        sent = time.time()
        check_dates(http.post("/v1/dates", json={"posted": True}), sent, time.time())
        check_dates(http.get("/v1/dates/absent"), sent, time.time())
        assert checked == 2 * WRITES


def test_an_answer_the_connection_makes_itself_has_a_date(tmp_path: Path) -> None:
    """A 431 for a head too large, answered before the app, carries one Date too."""
    with start_service(str(tmp_path / "service.db"), tmp_path) as service:
        where = urlsplit(service.url)
        with socket.create_connection((where.hostname, where.port), timeout=5) as conn:
            conn.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n")
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = conn.recv(4096)
                assert chunk
                head += chunk
    lines = head.split(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
    assert lines[0].startswith("HTTP/1.1 431")
    dates = [line for line in lines if line.lower().startswith("date:")]
    assert len(dates) == 1
    parse_http_date(dates[0].partition(":")[2].strip())
