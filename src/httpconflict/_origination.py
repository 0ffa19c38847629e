"""Date and Last-Modified of an answer: stamped when it is made, never out of order.

Theory of operation: an answer's Date is the moment it originates, read
once as it starts; its Last-Modified was fixed earlier (when a write
happened, perhaps in another process or on another machine). A server
whose Date comes from a timer that ticks once a second (uvicorn's) lags
its own writes by up to a second, so an answer to a write would say it
was modified after it was sent. `date_fields` takes the moment (the core
reads no clock) and the answer's Last-Modified, and gives the Date to send
and the Last-Modified to send with it.
"""

from __future__ import annotations

import functools
import math

from ._errors import MalformedHeader
from ._httpdate import format_http_date, parse_http_date


def date_fields(now: float, last_modified: str | None) -> tuple[str, str | None]:
    """The Date of an answer made at `now` (epoch seconds) and its Last-Modified.

    RFC 9110 §6.6.1: "An origin server with a clock ... MUST generate a Date
    header field in all 2xx (Successful), 3xx (Redirection), and 4xx (Client
    Error) responses, and MAY generate a Date header field in 1xx
    (Informational) and 5xx (Server Error) responses": it is given to all.

    RFC 9110 §8.8.2.1: "An origin server with a clock ... MUST NOT generate a
    Last-Modified date that is later than the server's time of message
    origination (Date). If the last modification time is derived from
    implementation-specific metadata that evaluates to some time in the
    future, according to the origin server's clock, then the origin server
    MUST replace that value with the message origination date."

    A Last-Modified that is not an HTTP-date is given back as it is: it is
    not a time this rule can compare.
    """
    second = math.floor(now)
    date = format_http_date(second)
    if last_modified is None:
        return date, None
    modified = _seconds(last_modified)
    if modified is not None and modified > second:
        return date, date
    return date, last_modified


@functools.lru_cache(maxsize=1024)
def _seconds(value: str) -> int | None:
    # The same few values come again and again (hot documents, static files).
    try:
        return int(parse_http_date(value).timestamp())
    except MalformedHeader:
        return None
