"""Conditional requests (RFC 9110 §13): parse the four fields, evaluate them.

Theory of operation: `Conditions.from_headers` turns the request's
If-Match, If-None-Match, If-Modified-Since and If-Unmodified-Since into
values. `evaluate` compares them with the `Validators` of the current
representation (or None when there is none) in the order of RFC 9110
§13.2.2 and returns a `Decision`, never a bool, so a caller can tell 304
from 412 from 428. Nothing here reads a clock or does I/O.

Dates: RFC 9110 §13.1.3 and §13.1.4 tell a recipient to *ignore* an
If-(Un)Modified-Since value that is not a valid HTTP-date. Ignoring a
malformed If-Unmodified-Since turns a guarded write into a blind one, so by
default a malformed date is refused (400); `lenient_dates=True` follows the
RFC's letter.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from ._errors import MalformedHeader
from ._etag import EntityTags, ETag
from ._httpdate import parse_http_date

SAFE_METHODS: Final = frozenset({"GET", "HEAD"})


class Decision(enum.Enum):
    """What to do with a conditional request.

    There is no "already succeeded": RFC 9110 §13.1.1 lets a failed If-Match
    answer 2xx "if it can be determined that the state-changing request has
    already succeeded", but content cannot determine it (two clients that
    read 5 and both write 6 made two increments). Only the request's
    identity can: an Idempotency-Key whose first answer was recorded, which
    the idempotency flow replays before preconditions are ever evaluated.
    """

    PROCEED = "proceed"
    NOT_MODIFIED = "not-modified"
    PRECONDITION_FAILED = "precondition-failed"
    PRECONDITION_REQUIRED = "precondition-required"

    @property
    def status(self) -> int | None:
        """The status to answer with, or None when the method goes on to its own answer."""
        return _STATUS[self]


_STATUS: Final = {
    Decision.PROCEED: None,
    Decision.NOT_MODIFIED: 304,
    Decision.PRECONDITION_FAILED: 412,
    Decision.PRECONDITION_REQUIRED: 428,
}


@dataclass(frozen=True, slots=True)
class Validators:
    """The validators of a current representation (RFC 9110 §8.8).

    `last_modified_strong` says that the store knows the representation did
    not change twice during the second of `last_modified` (RFC 9110
    §8.8.2.2: only then can a date equal to it be taken as naming this
    version). Without that knowledge an If-Unmodified-Since date in the
    same second is in doubt, and refused.
    """

    etag: ETag | None = None
    last_modified: datetime | None = None
    last_modified_strong: bool = False


@dataclass(frozen=True, slots=True)
class Conditions:
    """The conditional header fields of one request; None where absent."""

    if_match: EntityTags | None = None
    if_none_match: EntityTags | None = None
    if_modified_since: datetime | None = None
    if_unmodified_since: datetime | None = None

    @classmethod
    def from_headers(
        cls,
        headers: Mapping[str, str | Iterable[str]] | Callable[[str], list[str]],
        *,
        now: datetime | None = None,
        lenient_dates: bool = False,
    ) -> Conditions:
        """Read the four fields from a request's headers.

        `headers` maps lower-case field names to a value or a list of field
        lines, or is a function returning the list of lines for a name (such
        as Starlette's ``request.headers.getlist``). Raises `MalformedHeader`
        naming the field.
        """
        lookup = headers if callable(headers) else _lines_from(headers)
        return cls(
            if_match=_tags(lookup("if-match"), "If-Match"),
            if_none_match=_tags(lookup("if-none-match"), "If-None-Match"),
            if_modified_since=_date(
                lookup("if-modified-since"), "If-Modified-Since", now, lenient_dates
            ),
            if_unmodified_since=_date(
                lookup("if-unmodified-since"), "If-Unmodified-Since", now, lenient_dates
            ),
        )

    @property
    def present(self) -> bool:
        """Whether the request carries any precondition at all."""
        return (
            self.if_match is not None
            or self.if_none_match is not None
            or self.if_modified_since is not None
            or self.if_unmodified_since is not None
        )


def _tags(lines: list[str], name: str) -> EntityTags | None:
    if not lines:
        return None
    try:
        return EntityTags.parse(lines[0] if len(lines) == 1 else lines)
    except MalformedHeader as error:
        raise error.for_header(name) from None


def _date(lines: list[str], name: str, now: datetime | None, lenient: bool) -> datetime | None:
    if not lines:
        return None
    try:
        if len(lines) > 1:
            # §13.1.4: "including when the field value appears to be a list of dates"
            raise MalformedHeader("expected one HTTP-date, got several", value=", ".join(lines))
        return parse_http_date(lines[0], now=now)
    except MalformedHeader as error:
        if lenient:
            return None
        raise error.for_header(name) from None


def _lines_from(headers: Mapping[str, str | Iterable[str]]) -> Callable[[str], list[str]]:
    folded = (
        {k.lower(): v for k, v in headers.items()}
        if any(not k.islower() for k in headers)
        else headers
    )

    def lookup(name: str) -> list[str]:
        value = folded.get(name)
        if value is None:
            return []
        return [value] if isinstance(value, str) else list(value)

    return lookup


def evaluate(
    method: str,
    conditions: Conditions,
    current: Validators | None,
    *,
    require_precondition: bool = False,
    creates: bool | None = None,
) -> Decision:
    """Evaluate preconditions in the order of RFC 9110 §13.2.2.

    `current` is None when the target resource has no current
    representation. `require_precondition` answers 428 for a
    state-changing request on an existing resource that carries no
    precondition that can be evaluated (RFC 6585 §3). `creates` says
    whether the method would create the resource when it is absent
    (default: only PUT does).

    A failed If-Match or If-Unmodified-Since is a 412 whatever the request
    asks for: whether it "has already succeeded" is never decided here.
    """
    method = method.upper()
    safe = method in SAFE_METHODS
    if current is None and not (creates if creates is not None else method == "PUT"):
        # §13.2.1: "A server MUST ignore all received preconditions if its
        # response to the same request without those conditions ... would
        # have been a status code other than a 2xx (Successful) or 412": here
        # that answer is a 404, which the caller gives.
        return Decision.PROCEED

    evaluated = False
    # Step 1: If-Match, strong comparison (§13.1.1); "*" is true exactly when
    # there is a current representation, whether or not it has an ETag.
    if conditions.if_match is not None:
        evaluated = True
        etag = current.etag if current is not None else None
        if current is None or not (
            conditions.if_match.any or (etag is not None and conditions.if_match.strong_match(etag))
        ):
            return Decision.PRECONDITION_FAILED
    # Step 2: If-Unmodified-Since, only without If-Match; ignored when the
    # resource has no modification date (§13.1.4), and then no guard at all.
    elif (
        conditions.if_unmodified_since is not None
        and current is not None
        and current.last_modified is not None
    ):
        evaluated = True
        if modified_since(current, conditions.if_unmodified_since, in_doubt=not safe):
            return Decision.PRECONDITION_FAILED

    # Step 3: If-None-Match, weak comparison (§13.1.2); "*" is true only
    # when there is no current representation. It guards no write to one
    # that exists: "*" fails there, and a list of tags lets through every
    # version but those, the ones written since the client read included
    # (a client that sent the ETag it read here instead of in If-Match
    # overwrote the change made since, unseen). Such a write still needs
    # a precondition that names what it was made from (428).
    if conditions.if_none_match is not None:
        etag = current.etag if current is not None else None
        matched = current is not None and (
            conditions.if_none_match.any
            or (etag is not None and conditions.if_none_match.weak_match(etag))
        )
        if matched:
            return Decision.NOT_MODIFIED if safe else Decision.PRECONDITION_FAILED
    # Step 4: If-Modified-Since, only for GET and HEAD and only without
    # If-None-Match (§13.1.3).
    elif (
        safe
        and conditions.if_modified_since is not None
        and current is not None
        and current.last_modified is not None
        and _seconds(current.last_modified) <= _seconds(conditions.if_modified_since)
    ):
        return Decision.NOT_MODIFIED

    if require_precondition and not safe and current is not None and not evaluated:
        # Nothing guards this write: no precondition at all, only an
        # If-Unmodified-Since the resource has no date to compare with, or
        # only an If-None-Match naming versions other than the current one.
        return Decision.PRECONDITION_REQUIRED
    return Decision.PROCEED


def modified_since(current: Validators, date: datetime, *, in_doubt: bool = True) -> bool:
    """Whether If-Unmodified-Since `date` fails for `current` (RFC 9110 §13.1.4).

    HTTP-dates have one-second resolution. A modification in an earlier
    second than `date` passes and one in a later second fails, as the RFC
    says. One in the very second of `date` is in doubt unless the store
    knows that second held no other change (`last_modified_strong`,
    §8.8.2.2): two writers who read versions made in the same second both
    hold that second's date, and the one who read the older version must
    not win. `in_doubt` says whether doubt fails: it does for a write, and
    a read (nothing to lose) takes the date at its word.
    """
    assert current.last_modified is not None
    changed, given = _seconds(current.last_modified), _seconds(date)
    if changed != given:
        return changed > given
    return in_doubt and not current.last_modified_strong


def _seconds(moment: datetime) -> int:
    # HTTP-dates have one-second resolution: a Last-Modified of 12:00:00.7
    # was sent as 12:00:00, and a client echoing it back must match.
    return int(moment.timestamp())
