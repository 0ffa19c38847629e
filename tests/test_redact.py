"""Passwords are masked in text bound for a log, by their shape and by their value."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from httpconflict._redact import MASK, RedactingFilter, redact, secrets_in


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "serving postgresql://u:secret@h:5432/db on",
            "serving postgresql://u:***@h:5432/db on",
            id="url-userinfo",
        ),
        pytest.param("redis://:pw@127.0.0.1:6379/0", "redis://:***@127.0.0.1:6379/0", id="redis"),
        pytest.param(
            "postgresql://u:p@ss@h/db", "postgresql://u:***@h/db", id="unescaped-at-in-password"
        ),
        pytest.param(
            "host=h password=secret dbname=d", "host=h password=*** dbname=d", id="libpq-keyword"
        ),
        pytest.param(
            r"host=h password='se cr\'et' dbname=d",
            "host=h password=*** dbname=d",
            id="libpq-keyword-quoted",
        ),
        pytest.param(
            "postgresql://h/db?password=secret&sslmode=off",
            "postgresql://h/db?password=***&sslmode=off",
            id="query-parameter",
        ),
        pytest.param("sslpassword = x1", "sslpassword = ***", id="sslpassword"),
        pytest.param(
            "postgresql://u@h/db and https://example.com/a:b",
            "postgresql://u@h/db and https://example.com/a:b",
            id="nothing-to-mask",
        ),
    ],
)
def test_passwords_are_masked_by_their_shape(text: str, expected: str) -> None:
    """A URL's password and any password= value are masked, whoever's they are."""
    assert redact(text) == expected


@pytest.mark.parametrize(
    ("location", "secrets"),
    [
        ("postgresql://u:s%20cret@h/db", {"s%20cret", "s cret"}),
        ("redis://:pw@h", {"pw"}),
        (r"host=h password='a b\'c'", {"a b'c"}),
        ("postgresql://h/db?password=x%2Fy", {"x%2Fy", "x/y"}),
        ("postgresql://u@h/db", set()),
        ("httpconflict.db", set()),
    ],
)
def test_a_locations_passwords_are_found(location: str, secrets: set[str]) -> None:
    """As written and percent-decoded, so that a driver quoting either is masked."""
    assert secrets_in(location) == secrets


def test_a_known_password_is_masked_wherever_it_appears() -> None:
    """psycopg quotes a bad password without its URL: its value is masked anyway."""
    secrets = secrets_in("postgresql://u:s3c ret@h/db")
    message = 'unexpected spaces found in "s3c ret", use percent-encoded spaces (%20) instead'
    assert "s3c ret" not in redact(message, secrets)
    assert MASK in redact(message, secrets)


@given(st.text(alphabet=st.characters(exclude_categories=["Cs"]), min_size=1))
def test_no_password_survives_in_its_own_url(password: str) -> None:
    """Whatever the password, the URL it is written in comes out without it."""
    url = f"postgresql://user:{password}@127.0.0.1:5432/db"
    text = f"serving {url} and failing on it: {password}"
    assert password not in redact(text, secrets_in(url)).replace(MASK, "")


def test_the_filter_masks_messages_arguments_and_exceptions() -> None:
    """A record's message, arguments and exception text all go out masked."""
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    handler = Keep()
    handler.addFilter(RedactingFilter({"hunter2"}))
    logger = logging.getLogger("tests.redact")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("connecting to %s", "postgresql://u:hunter2@h/db")
        try:
            raise ValueError("bad password hunter2")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    assert len(records) == 2
    assert "postgresql://u:***@h/db" in records[0]
    assert "bad password ***" in records[1]
    assert not any("hunter2" in r for r in records)
