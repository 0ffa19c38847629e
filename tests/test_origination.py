"""Date and Last-Modified: Date is the moment given, Last-Modified never later (RFC 9110)."""

from __future__ import annotations

import pytest

from httpconflict._origination import date_fields

NOW = 784111777.25  # Sun, 06 Nov 1994 08:49:37.25 GMT
DATE = "Sun, 06 Nov 1994 08:49:37 GMT"


@pytest.mark.parametrize(
    ("last_modified", "sent"),
    [
        pytest.param(None, None, id="rfc9110-6.6.1-date-without-last-modified"),
        pytest.param(
            "Sun, 06 Nov 1994 08:49:36 GMT",
            "Sun, 06 Nov 1994 08:49:36 GMT",
            id="earlier-kept",
        ),
        pytest.param(DATE, DATE, id="same-second-kept"),
        pytest.param(
            "Sun, 06 Nov 1994 08:49:38 GMT", DATE, id="rfc9110-8.8.2.1-later-replaced-by-date"
        ),
        pytest.param("Fri, 01 Jan 2100 00:00:00 GMT", DATE, id="far-future-replaced-by-date"),
        pytest.param("yesterday", "yesterday", id="not-a-date-left-alone"),
    ],
)
def test_last_modified_is_never_later_than_date(last_modified: str | None, sent: str) -> None:
    """The answer's Date is `now` to the second; a Last-Modified after it becomes the Date."""
    assert date_fields(NOW, last_modified) == (DATE, sent)
