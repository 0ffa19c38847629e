"""Answers and stepping helpers for the client flow tests (no I/O)."""

from __future__ import annotations

import json
from collections.abc import Generator
from typing import Any

import pytest

from httpconflict._client_commands import (
    Command,
    GaveUp,
    Received,
    Reply,
    Send,
    Sleep,
    StoredDocument,
    TransportFailure,
)
from httpconflict._problem import PROBLEM_TYPE_BASE

URL = "http://api.test/v1/notes/n1"
COLLECTION = "http://api.test/v1/notes"
Flow = Generator[Command, Reply, StoredDocument | GaveUp]


def document(
    body: dict[str, Any], etag: str = '"e1"', status: int = 200, **headers: str
) -> Received:
    """A JSON document answer with its ETag."""
    fields = {"content-type": "application/json", "etag": etag}
    fields.update({k.replace("_", "-").lower(): v for k, v in headers.items()})
    return Received(status, fields, json.dumps(body).encode())


def problem(
    status: int,
    slug: str,
    *,
    at: float = 0.0,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> Received:
    """An application/problem+json answer of type `slug`."""
    body = {"type": PROBLEM_TYPE_BASE + slug, "title": f"title of {slug}", "status": status}
    body.update(extensions)
    fields = {"content-type": "application/problem+json", **(headers or {})}
    return Received(status, fields, json.dumps(body).encode(), at=at)


def lost(at: float = 0.0) -> TransportFailure:
    return TransportFailure(ConnectionResetError("connection reset by peer"), at=at)


def send(flow: Flow, reply: Reply) -> Command:
    """Send `reply`, expecting another command."""
    return flow.send(reply)


def sent(command: Command) -> Send:
    assert isinstance(command, Send), command
    return command


def slept(command: Command) -> float:
    assert isinstance(command, Sleep), command
    return command.seconds


def body(command: Command) -> Any:
    request = sent(command)
    assert request.body is not None
    return json.loads(request.body)


def finish(flow: Flow, reply: Reply) -> StoredDocument | GaveUp:
    """Send `reply`, expecting the flow to end; its outcome."""
    with pytest.raises(StopIteration) as stop:
        flow.send(reply)
    outcome: StoredDocument | GaveUp = stop.value.value
    return outcome


def stored(flow: Flow, reply: Reply) -> StoredDocument:
    outcome = finish(flow, reply)
    assert isinstance(outcome, StoredDocument), outcome
    return outcome


def gave_up(flow: Flow, reply: Reply) -> GaveUp:
    outcome = finish(flow, reply)
    assert isinstance(outcome, GaveUp), outcome
    return outcome
