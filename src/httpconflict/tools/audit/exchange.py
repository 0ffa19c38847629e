"""One request the audit sent and the answer it got, as every check reads it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

import httpx

from httpconflict import parse_media_type

from .jsonapi import flatten

#: Bytes of each answer body kept for the report and the problem+json check.
BODY_KEPT: Final = 64 * 1024


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request the audit sent and the answer it got."""

    check: str
    method: str
    url: str
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    #: The member of a JSON object answer that holds the resource, if the API wraps it.
    envelope: str | None = None
    #: The id member of a JSON:API resource, when the API speaks JSON:API (jsonapi.py):
    #: its resource is then read flat from ``data``.
    jsonapi_id: str | None = None
    #: The body went on past BODY_KEPT bytes (`body` is its start): it is read as no JSON.
    truncated: bool = False

    def header(self, name: str) -> str | None:
        """The first value of header `name` (case-insensitive), or None."""
        name = name.lower()
        return next((value for key, value in self.headers if key == name), None)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def media_type(self) -> str | None:
        """The answer's ``type/subtype``, lower-cased, or None without Content-Type."""
        value = self.header("content-type")
        return parse_media_type(value)[0] if value else None

    def json(self) -> Any:
        """The body as JSON, or None when it is empty, not JSON, cut short or nested deeper
        than Python reads (a RecursionError)."""
        if self.truncated:
            return None
        try:
            return json.loads(self.body)
        except (ValueError, RecursionError):
            return None

    def unreadable(self) -> str | None:
        """Why a body that may be JSON is not read as JSON (too long, too deep); else None."""
        if self.truncated:
            return f"its body is longer than the {BODY_KEPT // 1024} KiB the audit reads"
        try:
            json.loads(self.body)
        except RecursionError:
            return "its JSON is nested deeper than the audit reads"
        except ValueError:
            return None
        return None

    def document(self) -> dict[str, Any] | None:
        """The body when it is a JSON object: the resource inside its envelope member, when
        the answer has one (an error answer usually has not: it is read whole)."""
        value = self.json()
        if not isinstance(value, dict):
            return None
        if self.jsonapi_id is not None:
            flat = flatten(value, self.jsonapi_id)
            if flat is not None:
                return flat
        inner = value.get(self.envelope) if self.envelope is not None else None
        return inner if isinstance(inner, dict) else value

    def summary(self) -> str:
        """``PUT /v1/notes/1 -> 200``, for evidence."""
        path = httpx.URL(self.url).raw_path.decode("ascii", "replace")
        return f"{self.method} {path} -> {self.status}"
