"""An incident is one log line under an id that the answer carries; driver text stays in the log."""

from __future__ import annotations

import json
import logging

import pytest

from httpconflict import Unavailable
from httpconflict._incidents import MESSAGE_LIMIT, describe, new_incident, unavailable


class DriverError(Exception):
    """Stands for a database driver's error (its text names hosts and users)."""


DRIVER_TEXT = 'connection to server at "db.internal" (10.0.0.7), port 5432 failed: role "app"'


def raised(error: Exception) -> Exception:
    """`error`, raised and caught, so it has a traceback."""
    try:
        raise error
    except Exception as caught:
        return caught


def test_new_incidents_are_twelve_hex_digits_and_differ() -> None:
    """Each id is 12 hex digits, and a thousand of them are all different."""
    ids = {new_incident() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(len(i) == 12 and int(i, 16) >= 0 for i in ids)


def test_unavailable_tells_the_client_words_and_the_log_the_driver_text(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The 503's detail is the words given; the driver's text is in one log line with its id."""
    with caplog.at_level(logging.WARNING, logger="httpconflict"):
        error = unavailable("the database does not answer", raised(DriverError(DRIVER_TEXT)))
    assert isinstance(error, Unavailable)
    body = error.problem.to_dict()
    assert body["status"] == 503
    assert body["detail"] == "the database does not answer"
    assert body["retry_after"] == 1
    incident = body["incident"]
    assert error.incident == incident
    assert "10.0.0.7" not in error.problem.to_json().decode()
    lines = [r.getMessage() for r in caplog.records if incident in r.getMessage()]
    assert len(lines) == 1
    assert DRIVER_TEXT in lines[0]
    assert "the database does not answer" in lines[0]
    assert "DriverError" in lines[0]


def test_an_unavailable_without_incident_has_no_member() -> None:
    """`Unavailable` made without an incident keeps its old shape."""
    assert "incident" not in Unavailable("busy").problem.to_dict()


def test_describe_is_one_line_naming_type_message_and_place() -> None:
    """A multi-line message becomes one line, with where the error was raised."""
    line = describe(raised(ValueError("first\nsecond\r\n\tthird")))
    assert "\n" not in line
    assert "\r" not in line
    assert line.startswith("ValueError: first\\nsecond\\r\\n\\tthird (at ")
    assert "test_incidents.py:" in line
    assert "in raised" in line


def test_describe_cuts_a_huge_message_and_escapes_a_lone_surrogate() -> None:
    """A message is cut to MESSAGE_LIMIT characters; a lone surrogate is written escaped."""
    line = describe(KeyError("\ud800" + "x" * 100_000))
    assert len(line) < MESSAGE_LIMIT + 100
    assert line.endswith("...")
    line.encode("utf-8")  # writable to a UTF-8 log
    assert "\\ud800" in line


def test_describe_names_the_packages_own_frame_under_a_library_one() -> None:
    """A failure inside a library also names the innermost httpconflict frame that led there."""
    namespace: dict[str, object] = {"json": json}
    # A function that looks, by its file name, like the package's own code.
    code = compile("def load(text):\n    return json.loads(text)\n", "/x/httpconflict/f.py", "exec")
    exec(code, namespace)  # noqa: S102  # the test's own code
    load = namespace["load"]
    assert callable(load)
    with pytest.raises(json.JSONDecodeError) as caught:
        load("{")
    line = describe(caught.value)
    assert "json/decoder.py:" in line
    assert line.endswith(", from httpconflict/f.py:2 in load)")
