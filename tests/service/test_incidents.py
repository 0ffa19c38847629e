"""An unexpected error in a real server: a 500 problem with an incident id, one log line, and
the keep-alive connection still serving.

The fault is real: a row of the SQLite file damaged by another program (a
time that is text where the store wrote an integer), which the store does
not expect, so reading that document fails in the service's own code.
"""

from __future__ import annotations

import http.client
import json
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from httpconflict._problem import PROBLEM_TYPE_BASE
from tests.servers import free_port, stop, wait_until_up
from tests.spawn import spawn

#: What a browser sends for a page (Firefox's).
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@dataclass
class Server:
    """A running `httpconflict serve`: where it listens, its file, and its output."""

    port: int
    db: Path
    output: Path

    def lines_with(self, text: str) -> list[str]:
        return [line for line in self.output.read_text().splitlines() if text in line]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """A service on SQLite whose 500s are the point (so not `start_service`, which forbids them)."""
    port, db, output = free_port(), tmp_path / "service.db", tmp_path / "output.log"
    with output.open("wb") as sink:
        process = spawn(
            [
                sys.executable,
                "-m",
                "httpconflict.cli",
                "serve",
                "--db",
                str(db),
                "--port",
                str(port),
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until_up(f"http://127.0.0.1:{port}", process, output)
        yield Server(port, db, output)
    finally:
        stop(process)


def damage(db: Path, collection: str, id: str) -> None:
    """Write a text where the store keeps a document's time in microseconds (an integer).

    The store's history trigger is set aside meanwhile: the damage is to
    the row alone, as a program that knows nothing of the history does it.
    """
    with sqlite3.connect(db) as conn:
        (trigger,) = conn.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'record_changed'"
        ).fetchone()
        conn.execute("DROP TRIGGER record_changed")
        conn.execute(
            "UPDATE documents SET modified_us = 'yesterday' WHERE collection = ? AND id = ?",
            (collection, id),
        )
        conn.execute(trigger)


def test_an_unexpected_error_is_a_500_with_an_incident_and_the_connection_lives(
    server: Server,
) -> None:
    """The 500 carries an incident id, the log has one line with it, the next request is served."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("PUT", "/v1/notes/a", b'{"n": 1}', {"Content-Type": "application/json"})
    created = conn.getresponse()
    created.read()
    assert created.status == 201
    assert conn.sock is not None
    socket_before = conn.sock
    damage(server.db, "notes", "a")

    conn.request("GET", "/v1/notes/a")
    response = conn.getresponse()
    body = json.loads(response.read())
    assert response.status == 500
    assert response.getheader("content-type") == "application/problem+json"
    assert response.getheader("connection") is None
    assert body["type"] == PROBLEM_TYPE_BASE + "internal-error"
    incident = body["incident"]
    assert len(incident) == 12

    conn.request("GET", "/healthz")
    health = conn.getresponse()
    health.read()
    assert health.status == 200
    assert conn.sock is socket_before, "the server closed the connection after the 500"

    # A browser's request (Accept ranking HTML first) gets the problem JSON too: the pages
    # an app's key middleware makes are not the service's (`pages=False`).
    conn.request("GET", "/v1/notes/a", headers={"Accept": BROWSER_ACCEPT})
    browser = conn.getresponse()
    problem = json.loads(browser.read())
    assert browser.status == 500
    assert browser.getheader("content-type") == "application/problem+json"
    assert problem["incident"] != incident
    conn.close()

    (line,) = server.lines_with(incident)
    assert "GET /v1/notes/a" in line
    assert "TypeError" in line
    assert "httpconflict/" in line  # where it was raised
    assert not server.lines_with("Traceback")


def test_an_answer_without_a_500_writes_no_incident(server: Server) -> None:
    """Ordinary refusals (a 404, a parser 400) log no incident."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("GET", "/v1/notes/absent")
    absent = conn.getresponse()
    absent.read()
    assert absent.status == 404
    conn.close()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
        raw.sendall(b"FOO / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        assert raw.recv(65536).startswith(b"HTTP/1.1 400 ")
    assert not server.lines_with("incident")
