"""Times as logs write them read into seconds since the epoch (UTC)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from httpconflict.tools.logs.timestamps import epoch_seconds, parse_timestamp

NOON = datetime(2026, 11, 24, 12, 0, 0, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        pytest.param("24/Nov/2026:12:00:00 +0000", NOON, id="clf-utc"),
        pytest.param("24/Nov/2026:13:00:00 +0100", NOON, id="clf-east"),
        pytest.param("24/Nov/2026:07:00:00 -0500", NOON, id="clf-west"),
        pytest.param("[24/Nov/2026:12:00:00 +0000]", NOON, id="clf-bracketed"),
        pytest.param("2026-11-24T12:00:00Z", NOON, id="iso-z"),
        pytest.param("2026-11-24T12:00:00.250Z", NOON + 0.25, id="iso-fraction"),
        pytest.param("2026-11-24T14:00:00+02:00", NOON, id="iso-offset"),
        pytest.param("2026-11-24T12:00:00", NOON, id="iso-naive-is-utc"),
        pytest.param("2026-11-24 12:00:00,500", NOON + 0.5, id="logging-asctime"),
        pytest.param("[2026-11-24 12:00:00 +0000] [7] [INFO]", NOON, id="gunicorn-error-log"),
        pytest.param("2026-11-24 07:00:00 -0500", NOON, id="space-offset"),
    ],
)
def test_parse_timestamp(text: str, seconds: float) -> None:
    """Each spelling gives the same instant."""
    assert parse_timestamp(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "INFO:",
        "32/Nov/2026:12:00:00 +0000",
        "24/Foo/2026:12:00:00 +0000",
        "2026-13-01T00:00:00Z",
    ],
)
def test_not_a_time(text: str) -> None:
    """Text without a valid time gives None, not an error."""
    assert parse_timestamp(text) is None


@pytest.mark.parametrize(
    "number", [NOON, NOON * 1e3, NOON * 1e6, NOON * 1e9], ids=["s", "ms", "us", "ns"]
)
def test_epoch_numbers_by_magnitude(number: float) -> None:
    """A JSON log's numeric time is read as s, ms, µs or ns by its size."""
    assert epoch_seconds(number) == pytest.approx(NOON)
