"""The OpenAPI description of the change feed (``GET /v1/{collection}/_changes``).

Written out as `openapi` writes the rest; both forms are answers of one
operation, told apart by their media types (Accept chooses).
"""

from __future__ import annotations

from typing import Any, Final

from ..changes import DEFAULT_HEARTBEAT, DEFAULT_LIMIT, MAX_LIMIT

_SEQ: Final = {"type": "integer", "minimum": 0}
CHANGE: Final = {
    "type": "object",
    "required": ["seq", "id", "version", "etag", "deleted", "modified"],
    "properties": {
        "seq": {**_SEQ, "description": "Commit order, one sequence for the whole database."},
        "id": {"type": "string"},
        "version": {"type": "integer", "minimum": 1},
        "etag": {
            "type": ["string", "null"],
            "description": "The ETag as the document's GET sends it; null when deleted.",
        },
        "deleted": {"type": "boolean", "description": "A delete (tombstone) or a purge."},
        "modified": {"type": "string", "format": "date-time"},
        "purged": {
            "type": "boolean",
            "description": "Only present (true) when the document's history went with it: "
            "a delete with ?purge=true, or the purge of a document deleted before.",
        },
    },
}
CHANGES_PAGE: Final = {
    "type": "object",
    "required": ["results", "last_seq"],
    "properties": {
        "results": {"type": "array", "items": CHANGE},
        "last_seq": {
            **_SEQ,
            "description": "The next since: the last result's seq, or the watermark when "
            "every change known was sent.",
        },
    },
}
_STREAM: Final = (
    "Server-Sent Events (Accept: text/event-stream). Each change is an event "
    "`id: <seq>`, `event: change`, `data: <change as in the JSON form>`; at the start, "
    "and every `heartbeat` seconds when nothing else is sent, `event: heartbeat` with "
    '`data: {"seq": <watermark>}` (every change up to it was sent). Reconnect with '
    "Last-Event-ID set to the last `id:` seen. No compression, no ETag, Cache-Control: "
    "no-store; the stream stays open through a database outage (heartbeats go on)."
)


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


PARAMETERS: Final = [
    _query(
        "since",
        "Send the changes with a seq greater than this (a seq, or `now`). Default: `now` "
        "for the event stream, 0 for a JSON page. 410 when older than what is retained.",
        {"oneOf": [_SEQ, {"type": "string", "enum": ["now"]}]},
    ),
    _query("id", "Only this document's changes.", {"type": "string"}),
    _query(
        "limit",
        "JSON form: changes per page.",
        {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
    ),
    _query(
        "wait",
        "JSON form: seconds to wait for a change when there is none yet (a long-poll).",
        {"type": "integer", "minimum": 0, "maximum": 60, "default": 0},
    ),
    _query(
        "heartbeat",
        "Event stream: seconds between heartbeats when nothing else is sent.",
        {"type": "integer", "minimum": 1, "maximum": 60, "default": DEFAULT_HEARTBEAT},
    ),
    {
        "name": "Last-Event-ID",
        "in": "header",
        "required": False,
        "description": "Event stream: resume after this seq (wins over since; empty: none).",
        "schema": {"type": "string", "pattern": "^[0-9]*$"},
    },
]


def operation(problems: dict[str, Any]) -> dict[str, Any]:
    """The feed's GET, its refusals given by the caller (`openapi._problems`)."""
    return {
        "operationId": "list_changes",
        "summary": "A collection's changes in commit order: an event stream or JSON pages",
        "tags": ["documents"],
        "parameters": PARAMETERS,
        "responses": {
            "200": {
                "description": "The changes. JSON: one page; event stream: " + _STREAM,
                "headers": {"Cache-Control": {"schema": {"type": "string", "enum": ["no-store"]}}},
                "content": {
                    "application/json": {"schema": CHANGES_PAGE},
                    "text/event-stream": {"schema": {"type": "string"}},
                },
            },
            **problems,
        },
    }
