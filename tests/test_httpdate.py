"""HTTP-date: the three formats of RFC 9110 §5.6.7."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from httpconflict import MalformedHeader, format_http_date, parse_http_date

NOV_6_1994 = datetime(1994, 11, 6, 8, 49, 37, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("Sun, 06 Nov 1994 08:49:37 GMT", id="rfc9110-5.6.7-imf-fixdate"),
        pytest.param("Sunday, 06-Nov-94 08:49:37 GMT", id="rfc9110-5.6.7-rfc850"),
        pytest.param("Sun Nov  6 08:49:37 1994", id="rfc9110-5.6.7-asctime"),
        pytest.param(" Sun, 06 Nov 1994 08:49:37 GMT\t", id="rfc9110-5.5-ows-trimmed"),
    ],
)
def test_three_formats(text: str) -> None:
    """All three formats denote the same instant."""
    assert parse_http_date(text) == NOV_6_1994


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("sun, 06 Nov 1994 08:49:37 GMT", id="rfc9110-5.6.7-names-are-case-sensitive"),
        pytest.param("Sun, 06 Nov 1994 08:49:37 UTC", id="rfc9110-5.6.7-zone-must-be-GMT"),
        pytest.param("Sun, 6 Nov 1994 08:49:37 GMT", id="rfc9110-5.6.7-day-is-2DIGIT"),
        pytest.param("Sun, 31 Feb 1994 08:49:37 GMT", id="not-a-calendar-date"),
        pytest.param("Sun, 06 Nov 1994 25:49:37 GMT", id="hour-out-of-range"),
        pytest.param("1994-11-06T08:49:37Z", id="iso-8601-is-not-an-http-date"),
        pytest.param("Sun, 06 Nov 1994 08:49:37 GMT, Mon, 07 Nov 1994 08:49:37 GMT", id="a-list"),
        pytest.param("", id="empty"),
    ],
)
def test_invalid(text: str) -> None:
    """Anything else raises MalformedHeader (a ValueError with a 400 problem)."""
    with pytest.raises(MalformedHeader):
        parse_http_date(text)


def test_leap_second_is_accepted() -> None:
    """second = 2DIGIT allows :60; it reads as :59."""
    assert parse_http_date("Wed, 31 Dec 2008 23:59:60 GMT").second == 59


@pytest.mark.parametrize(
    ("two_digits", "now_year", "expected"),
    [
        pytest.param("94", 2026, 1994, id="rfc9110-5.6.7-past-century"),
        pytest.param("26", 2026, 2026, id="rfc9110-5.6.7-this-year"),
        pytest.param("76", 2026, 2076, id="rfc9110-5.6.7-50-years-ahead-is-future"),
        pytest.param("77", 2026, 1977, id="rfc9110-5.6.7-over-50-years-ahead-is-past"),
    ],
)
def test_rfc850_two_digit_year(two_digits: str, now_year: int, expected: int) -> None:
    """More than 50 years in the future means the most recent past year with those digits."""
    now = datetime(now_year, 6, 1, tzinfo=UTC)
    moment = parse_http_date(f"Sunday, 06-Nov-{two_digits} 08:49:37 GMT", now=now)
    assert moment.year == expected


def test_format_is_imf_fixdate() -> None:
    """A sender generates IMF-fixdate, in GMT, whatever the input's zone."""
    assert format_http_date(NOV_6_1994) == "Sun, 06 Nov 1994 08:49:37 GMT"
    assert format_http_date(datetime(1994, 11, 6, 8, 49, 37)) == "Sun, 06 Nov 1994 08:49:37 GMT"


@given(
    st.datetimes(
        min_value=datetime(1000, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(UTC)
    )
)
def test_roundtrip(moment: datetime) -> None:
    """parse(format(t)) is t to the second."""
    assert parse_http_date(format_http_date(moment)) == moment.replace(microsecond=0)
