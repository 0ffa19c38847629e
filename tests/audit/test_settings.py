"""The audit's settings: body templates, unique values, options."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from httpconflict.tools.audit.settings import AuditSettings, parse_body, parse_header

URL = "http://127.0.0.1:8000/v1/notes"


def test_uid_is_filled_in_everywhere() -> None:
    """Every "{uid}" in the template's strings, nested ones too, becomes the token."""
    settings = AuditSettings(
        URL, body={"a": "x-{uid}", "b": ["{uid}"], "c": {"d": "{uid}!"}, "e": 3}
    )
    assert settings.render_body("r-1") == {"a": "x-r-1", "b": ["r-1"], "c": {"d": "r-1!"}, "e": 3}


def test_unique_fields_get_a_unique_value() -> None:
    """A declared unique field without {uid} gets one; an e-mail stays an e-mail."""
    settings = AuditSettings(
        URL, body={"email": "me@corp.test", "slug": "fixed"}, unique=("email", "slug", "handle")
    )
    assert settings.render_body("r-1") == {
        "email": "audit-r-1@example.com",
        "slug": "audit-r-1",
        "handle": "audit-r-1",
    }


def test_a_unique_field_with_uid_keeps_its_template() -> None:
    """The user's own pattern for a unique field is kept when it has {uid}."""
    settings = AuditSettings(URL, body={"email": "qa+{uid}@corp.test"}, unique=("email",))
    assert settings.render_body("r-2") == {"email": "qa+r-2@corp.test"}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        pytest.param({"collection_url": "ftp://x"}, "http://", id="scheme"),
        pytest.param({"write_method": "DELETE"}, "PUT, PATCH or POST", id="write-method"),
        pytest.param({"unique": ("audit_count",)}, "counter", id="counter-unique"),
    ],
)
def test_bad_settings_are_refused(changes: dict[str, Any], message: str) -> None:
    """Settings that cannot work raise ValueError saying why."""
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(AuditSettings(URL), **changes)


def test_body_inline_or_from_a_file(tmp_path: Path) -> None:
    """--body takes a JSON object inline or as @FILE."""
    template = tmp_path / "body.json"
    template.write_text('{"name": "n-{uid}"}')
    assert parse_body('{"a": 1}') == {"a": 1}
    assert parse_body(f"@{template}") == {"name": "n-{uid}"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("[1]", "JSON object", id="array"),
        pytest.param("{nope", "not JSON", id="malformed"),
        pytest.param("@/nonexistent/body.json", "cannot read", id="missing-file"),
    ],
)
def test_bad_bodies_are_refused(text: str, message: str) -> None:
    """A body template that is not a readable JSON object is refused."""
    with pytest.raises(ValueError, match=message):
        parse_body(text)


def test_headers() -> None:
    """--header is 'Name: value'."""
    assert parse_header("Authorization: Bearer a:b") == ("Authorization", "Bearer a:b")
    with pytest.raises(ValueError, match="Name: value"):
        parse_header("no colon")
