"""Times as logs write them read into seconds since the epoch, with the zone they state."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from httpconflict.tools.logs.timestamps import epoch_seconds, parse_timestamp

NOON = datetime(2026, 11, 24, 12, 0, 0, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("text", "seconds", "offset"),
    [
        pytest.param("24/Nov/2026:12:00:00 +0000", NOON, 0, id="clf-utc"),
        pytest.param("24/Nov/2026:13:00:00 +0100", NOON, 3600, id="clf-east"),
        pytest.param("24/Nov/2026:07:00:00 -0500", NOON, -18000, id="clf-west"),
        pytest.param("[24/Nov/2026:12:00:00 +0000]", NOON, 0, id="clf-bracketed"),
        pytest.param("24/Nov/2026:17:30:00 +0530", NOON, 19800, id="clf-half-hour"),
        pytest.param("2026-11-24T12:00:00Z", NOON, 0, id="iso-z"),
        pytest.param("2026-11-24T12:00:00.250Z", NOON + 0.25, 0, id="iso-fraction"),
        pytest.param("2026-11-24T14:00:00+02:00", NOON, 7200, id="iso-offset"),
        pytest.param("2026-11-24T12:00:00", NOON, None, id="iso-naive-states-no-zone"),
        pytest.param("2026-11-24 12:00:00,500", NOON + 0.5, None, id="logging-asctime"),
        pytest.param("[2026-11-24 12:00:00 +0000] [7] [INFO]", NOON, 0, id="gunicorn-error-log"),
        pytest.param("2026-11-24 07:00:00 -0500", NOON, -18000, id="space-offset"),
    ],
)
def test_parse_timestamp(text: str, seconds: float, offset: int | None) -> None:
    """Each spelling gives the same instant, and the offset it was written in (None: no zone,
    the time read as if UTC)."""
    stamp = parse_timestamp(text)
    assert stamp is not None
    assert stamp.time == pytest.approx(seconds)
    assert stamp.offset == offset


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
    """A JSON log's numeric time is read as s, ms, µs or ns by its size, in UTC."""
    stamp = epoch_seconds(number)
    assert stamp.time == pytest.approx(NOON)
    assert stamp.offset == 0
