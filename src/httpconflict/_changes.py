"""The change feed's HTTP rules: its parameters, its two forms, and what a `since` may be.

``GET /v1/{collection}/_changes`` sends every change of a collection in
commit order, each with its `seq`. These rules are decided here, once: the
service only reads the request and renders what they decide.

- The form: Server-Sent Events when Accept names ``text/event-stream``
  (what an EventSource sends) and prefers it to JSON, a JSON page
  otherwise; the answer varies with Accept.
- `since` is a seq or ``now``; the SSE ``Last-Event-ID`` request header
  (an EventSource reconnecting) wins over it, unless empty (an
  EventSource's "no last event ID"). Default: ``now`` for a stream (a
  watcher wants what comes next), 0 for a page (a reader pages through
  what is kept).
- A parameter given twice (``since=1&since=2``, two Last-Event-ID field
  lines) is 400: no one value of it can be chosen without guessing.
- A `since` older than the feed keeps is 410 (`SinceExpired`, with the
  smallest `since` still accepted); one beyond the latest committed change
  is 400 (the client holds a seq of another database, or made one up).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from . import _problem
from ._errors import InvalidParameter, ProblemError

#: The most changes a JSON page holds, and how many by default.
MAX_LIMIT: Final = 1000
DEFAULT_LIMIT: Final = 100
#: Seconds between heartbeats of a stream with nothing else to send, by default.
DEFAULT_HEARTBEAT: Final = 10
MAX_HEARTBEAT: Final = 60
#: The longest long-poll of a JSON page, in seconds.
MAX_WAIT: Final = 60
EVENT_STREAM: Final = "text/event-stream"
LAST_EVENT_ID: Final = "Last-Event-ID"
NOW: Final = "now"
#: The request field the answer's form depends on (RFC 9110 §12.5.5: list it in Vary).
VARY: Final = "Accept"
_PARAMETERS: Final = frozenset({"since", "id", "limit", "wait", "heartbeat"})


class FeedForm(enum.Enum):
    """How the feed is sent: an event stream, or JSON pages."""

    STREAM = "stream"
    PAGE = "page"


@dataclass(frozen=True, slots=True)
class ChangesQuery:
    """A feed request's parameters, checked; `since` None means ``now``."""

    form: FeedForm
    since: int | None
    id: str | None = None
    #: Where `since` came from: the query's ``since`` or the Last-Event-ID field.
    since_from: str = "since"
    limit: int = DEFAULT_LIMIT
    wait: int = 0
    heartbeat: int = DEFAULT_HEARTBEAT


class SinceExpired(ProblemError, LookupError):
    """410: the changes after `since` were (partly) purged; `oldest` is the smallest accepted.

    What a feed raises to answer a 410 ``changes-expired``; a client that
    watches a feed is told the same by ``httpconflict.httpx.ChangesExpired``.
    """

    problem_type = _problem.CHANGES_EXPIRED

    def __init__(self, detail: str, *, oldest: int) -> None:
        super().__init__(detail, oldest=oldest)
        self.oldest = oldest


class SinceBeyondLatest(InvalidParameter):
    """400: a `since` greater than the latest committed change (`latest`).

    `parameter` names where the client sent it: ``since``, or Last-Event-ID.
    """

    def __init__(self, detail: str, *, latest: int, parameter: str = "since") -> None:
        ProblemError.__init__(self, detail, parameter=parameter, latest=latest)
        self.latest = latest


def changes_query(
    query: Mapping[str, str] | Iterable[tuple[str, str]],
    *,
    accept: str | None,
    last_event_id: str | None,
) -> ChangesQuery:
    """The feed request's parameters (query and header fields), or 400 for one that is bad.

    `query`: the query's (name, value) pairs, each as often as it came (a
    mapping cannot tell a repeated one). `accept`, `last_event_id`: the
    fields' values, each with its field lines combined (RFC 9110 §5.3).
    """
    query = _once(query)
    form = FeedForm.STREAM if _takes_event_stream(accept) else FeedForm.PAGE
    stream = form is FeedForm.STREAM
    # A parameter of the other form, or one that another wins over, is
    # checked too, and then has no effect.
    raw = query.get("since")
    asked = None if raw is None or raw == NOW else _seq(raw, "since")
    # WHATWG HTML §9.2.4: an EventSource sends Last-Event-ID only when its
    # last event ID string is not empty; an empty one is no position.
    resumed = None
    if last_event_id is not None and last_event_id.strip():
        resumed = _seq(last_event_id.strip(), LAST_EVENT_ID)
    since: int | None
    since_from = "since"
    if stream and resumed is not None:
        since, since_from = resumed, LAST_EVENT_ID
    elif raw is not None:
        since = asked
    else:
        since = None if stream else 0
    id = query.get("id")
    if id is not None and not id:
        raise InvalidParameter("id must name a document", parameter="id")
    return ChangesQuery(
        form=form,
        since=since,
        since_from=since_from,
        id=id,
        limit=_integer(query, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT),
        wait=_integer(query, "wait", 0, 0, MAX_WAIT),
        heartbeat=_integer(query, "heartbeat", DEFAULT_HEARTBEAT, 1, MAX_HEARTBEAT),
    )


def check_since(since: int, *, oldest: int, latest: int, parameter: str = "since") -> None:
    """Raise 410 (`SinceExpired`) if changes after `since` were purged, 400 if beyond `latest`.

    `parameter`: where the client sent `since` (the 400 names it).
    """
    if since < oldest:
        raise SinceExpired(
            f"the changes after {since} are no longer all kept (the oldest since accepted is "
            f"{oldest}): read the collection again, then follow the feed from since=now",
            oldest=oldest,
        )
    if since > latest:
        raise SinceBeyondLatest(
            f"{parameter} {since} is beyond the latest change ({latest}): it is not a seq of "
            "this feed",
            latest=latest,
            parameter=parameter,
        )


def _once(query: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
    pairs = query.items() if isinstance(query, Mapping) else query
    found: dict[str, str] = {}
    for name, value in pairs:
        if name in found and name in _PARAMETERS:
            raise InvalidParameter.given_twice(name)
        found[name] = value
    return found


#: How specifically a media range names JSON (RFC 9110 §12.5.1: the most specific one counts).
_JSON_RANGES: Final = {"application/json": 2, "application/*": 1, "*/*": 0}


def _takes_event_stream(accept: str | None) -> bool:
    """Whether Accept names the event stream and prefers it to JSON (a tie: the stream).

    Only an explicit ``text/event-stream`` asks for the stream (``*/*`` is
    what any client sends), at a quality above 0 (RFC 9110 §12.4.2: q=0
    means "not acceptable") and at least that of JSON's most specific range.
    """
    if not accept:
        return False
    stream: float | None = None
    json, specificity = 0.0, -1
    for element in accept.split(","):
        media, *params = (part.strip() for part in element.split(";"))
        media = media.lower()
        q = _quality(params)
        if media == EVENT_STREAM:
            stream = q if stream is None else max(stream, q)
        elif _JSON_RANGES.get(media, -1) > specificity:
            json, specificity = q, _JSON_RANGES[media]
    return stream is not None and stream > 0 and stream >= json


def _quality(params: list[str]) -> float:
    raw = next((p[2:].strip() for p in params if p.lower().startswith("q=")), "1")
    try:
        return float(raw)
    except ValueError:
        return 1.0  # a malformed weight: as if none were given


def _seq(raw: str, name: str) -> int:
    # A seq fits in 63 bits; a longer text cannot be one (and int() refuses 4300 digits).
    if not raw.isascii() or not raw.isdigit() or len(raw) > 19:
        raise InvalidParameter(
            f"{name} must be a seq (a non-negative integer) or now, not {raw[:40]!r}"
            if name == "since"
            else f"{name} must be a seq (a non-negative integer), not {raw[:40]!r}",
            parameter=name,
        )
    return int(raw)


def _integer(query: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 6 or not low <= int(raw) <= high:
        raise InvalidParameter(
            f"{name} must be an integer from {low} to {high}, not {raw[:40]!r}", parameter=name
        )
    return int(raw)
