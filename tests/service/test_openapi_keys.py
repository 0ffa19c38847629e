"""The service's OpenAPI says how it takes Idempotency-Keys: optional, required or not at all."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from openapi_spec_validator import validate

from httpconflict.service import openapi
from tests.servers import start_service

WRITES = [
    ("/v1/{collection}", "post"),
    ("/v1/{collection}/{doc_id}", "put"),
    ("/v1/{collection}/{doc_id}", "patch"),
    ("/v1/{collection}/{doc_id}", "delete"),
]


def _key(spec: dict[str, Any], path: str, method: str) -> dict[str, Any] | None:
    parameters = spec["paths"][path][method].get("parameters", [])
    return next((p for p in parameters if p["name"] == "Idempotency-Key"), None)


def _replayed(spec: dict[str, Any]) -> bool:
    return "Idempotent-Replayed" in json.dumps(spec["paths"])


def test_keys_are_optional_by_default() -> None:
    """Every write documents an optional Idempotency-Key and the replay header."""
    spec = json.loads(openapi.document("1"))
    validate(spec)
    for path, method in WRITES:
        key = _key(spec, path, method)
        assert key is not None
        assert not key.get("required", False)
    assert _replayed(spec)


def test_keys_required_are_documented_required() -> None:
    """With --idempotency-required every write documents the key as required, and why."""
    spec = json.loads(openapi.document("1", keys="required"))
    validate(spec)
    for path, method in WRITES:
        key = _key(spec, path, method)
        assert key is not None
        assert key["required"] is True
        assert "idempotency-key-missing" in key["description"]
    assert _replayed(spec)


def test_no_keys_documents_no_key(tmp_path: Path) -> None:
    """A service run with --idempotency off serves a document naming no key nor replay."""
    spec_off = json.loads(openapi.document("1", keys="off"))
    validate(spec_off)
    assert all(_key(spec_off, path, method) is None for path, method in WRITES)
    assert not _replayed(spec_off)
    with start_service(str(tmp_path / "s.db"), tmp_path, extra=("--idempotency", "off")) as s:
        served = httpx.get(f"{s.url}/openapi.json", timeout=10).json()
    assert all(_key(served, path, method) is None for path, method in WRITES)
    assert not _replayed(served)


def test_no_keys_no_words_about_keys() -> None:
    """Off, no description of an operation speaks of Idempotency-Keys."""
    spec = json.loads(openapi.document("1", keys="off"))
    for path, method in WRITES:
        assert "Idempotency-Key" not in json.dumps(spec["paths"][path][method])
