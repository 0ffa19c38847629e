"""The answer to a conditional GET or HEAD: send it as is, 304, 412 or 400.

Theory of operation: a resource answers a GET as if the request had no
preconditions; `read_decision` is then given that answer (its status and
its header fields, or just its `Validators` when the body is not built
yet) and the request's four conditional fields, and decides, once for
every adapter:

- whether preconditions apply at all: only to GET and HEAD (a write is
  checked by its own statement, `write_flow`), and only when the answer
  without them would be a 2xx (RFC 9110 §13.2.1);
- whether the request's fields can be read: a malformed one is a 400
  naming it (`lenient_dates=True` ignores a malformed date instead, as
  §13.1.3 and §13.1.4 say); a malformed validator in the answer itself
  validates nothing, and is ignored;
- the decision of `evaluate`, in §13.2.2 order, against the validators the
  answer carries, even none: "*" still names a representation that exists;
- which header fields a 304 repeats (§15.4.5): those of the answer, or,
  made from its validators alone, the validators and the Cache-Control
  its 200 says when the app says nothing (`_read_caching`); and the 412
  problem naming the current ETag.

Adapters only translate: they pull the fields out of their request and
response types, call `read_decision` and render the `ReadDecision`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Final, TypeAlias, TypeVar

from ._errors import MalformedHeader, PreconditionFailed
from ._etag import ETag
from ._httpdate import format_http_date, parse_http_date
from ._preconditions import SAFE_METHODS, Conditions, Decision, Validators, evaluate
from ._read_caching import REVALIDATE, with_read_caching
from ._refusals import precondition_failed

#: A request's header fields: lower-case name to a value or its field lines,
#: or a function giving the lines of a name (what `Conditions.from_headers` reads).
RequestFields: TypeAlias = Mapping[str, str | Iterable[str]] | Callable[[str], list[str]]
#: A response's header fields as (name, value) pairs, names in any case.
ResponseFields: TypeAlias = Iterable[tuple[str, str]]
_T = TypeVar("_T")

# RFC 9110 §15.4.5: "The server generating a 304 response MUST generate any
# of the following header fields that would have been sent in a 200 (OK)
# response to the same request: Content-Location, Date, ETag, and Vary;
# Cache-Control and Expires". Last-Modified only where there is no ETag
# (it "might be useful if the response does not have an ETag field").
NOT_MODIFIED_FIELDS: Final = frozenset(
    {"cache-control", "content-location", "date", "etag", "expires", "vary"}
)


class ReadOutcome(enum.Enum):
    """What a GET or HEAD is answered with once its preconditions are weighed."""

    PROCEED = "proceed"
    NOT_MODIFIED = "not-modified"
    PRECONDITION_FAILED = "precondition-failed"
    MALFORMED_HEADER = "malformed-header"

    @property
    def status(self) -> int | None:
        """The status to answer with, or None when the resource's own answer is sent."""
        return _STATUS[self]


_STATUS: Final = {
    ReadOutcome.PROCEED: None,
    ReadOutcome.NOT_MODIFIED: 304,
    ReadOutcome.PRECONDITION_FAILED: 412,
    ReadOutcome.MALFORMED_HEADER: 400,
}


@dataclass(frozen=True, slots=True)
class ReadDecision:
    """The decision for one conditional GET or HEAD.

    `fields` are the header fields of the 304 (NOT_MODIFIED), in the order
    the answer gave them; `error` is the problem to answer with for 412
    (`PreconditionFailed`, naming the current ETag) and 400
    (`MalformedHeader`, naming the field).
    """

    outcome: ReadOutcome
    fields: tuple[tuple[str, str], ...] = ()
    error: PreconditionFailed | MalformedHeader | None = None

    @property
    def status(self) -> int | None:
        return self.outcome.status


_PROCEED: Final = ReadDecision(ReadOutcome.PROCEED)


def read_decision(
    method: str,
    conditions: Conditions | MalformedHeader | RequestFields,
    answer: Validators | ResponseFields | None,
    *,
    status: int = 200,
    keep: Collection[str] = NOT_MODIFIED_FIELDS,
    lenient_dates: bool = False,
    cache_control: str | None = REVALIDATE,
) -> ReadDecision:
    """Decide a GET or HEAD from the answer the resource would give without preconditions.

    `conditions` is the request's parsed `Conditions`, the `MalformedHeader`
    parsing them raised, or its header fields to parse here (then only when
    they apply, so a 404 stays a 404 whatever the fields say). `answer` is
    the header fields of that answer, or only its `Validators` when they are
    known before the answer is built (the 304 then repeats the validators),
    or None when the resource has no current representation (the caller's
    404). `status` is that answer's status. `keep` names (lower case) the
    fields a 304 repeats; Last-Modified is repeated too when there is no
    ETag. `cache_control` is what a 304 made from `Validators` says of
    caching (None: nothing), as the 200 would (`_read_caching`); a 304
    made from header fields repeats their own.
    """
    # Writes are checked by the write itself (`write_flow`): a check here and
    # a write after it are two steps another writer can come between.
    if method.upper() not in SAFE_METHODS:
        return _PROCEED
    # RFC 9110 §13.2.1: "A server MUST ignore all received preconditions if
    # its response to the same request without those conditions, prior to
    # processing the request content, would have been a status code other
    # than a 2xx (Successful) or 412 (Precondition Failed)." Any 2xx, not
    # only 200: a 203 or a 206 names the same selected representation. A 412
    # is evaluated too by the letter, but a resource that answers 412 has
    # evaluated the conditions itself, and its answer stands.
    if answer is None or not 200 <= status < 300:
        return _PROCEED
    if isinstance(conditions, MalformedHeader):
        return ReadDecision(ReadOutcome.MALFORMED_HEADER, error=conditions)
    if not isinstance(conditions, Conditions):
        try:
            conditions = Conditions.from_headers(conditions, lenient_dates=lenient_dates)
        except MalformedHeader as error:
            return ReadDecision(ReadOutcome.MALFORMED_HEADER, error=error)
    if not conditions.present:
        return _PROCEED
    if not isinstance(answer, Validators):
        answer = tuple(answer)
    # A date is read back from the answer only for a condition on dates: a
    # revalidation by ETag (most 304s) parses no Last-Modified.
    dated = conditions.if_modified_since is not None or conditions.if_unmodified_since is not None
    current = answer if isinstance(answer, Validators) else validators_of(answer, dates=dated)
    # A 2xx without validators still has a current representation, and
    # `evaluate` is given one (never None): §13.1.1 "If the field value is
    # "*", the condition is true if the origin server has a current
    # representation for the target resource. If the field value is a list
    # of entity tags, the condition is true if any of the listed tags match
    # the entity tag of the selected representation": with no entity tag
    # none matches, so If-Match "x" is a 412 and If-Match "*" holds. §13.1.2:
    # "If the field value is "*", the condition is false if the origin
    # server has a current representation": If-None-Match "*" is a 304.
    # §13.1.4: "A recipient MUST ignore the If-Unmodified-Since header field
    # if the resource does not have a modification date available"; an
    # If-Modified-Since has nothing to compare with either. HEAD is answered
    # as GET (§9.3.2: "identical to GET except that the server MUST NOT
    # send content in the response").
    match evaluate(method, conditions, current):
        case Decision.NOT_MODIFIED:
            fields = not_modified_fields(answer, keep, cache_control=cache_control)
            return ReadDecision(ReadOutcome.NOT_MODIFIED, fields)
        case Decision.PRECONDITION_FAILED:
            return ReadDecision(ReadOutcome.PRECONDITION_FAILED, error=precondition_failed(current))
        case _:
            return _PROCEED


def not_modified_fields(
    answer: Validators | ResponseFields,
    keep: Collection[str] = NOT_MODIFIED_FIELDS,
    *,
    cache_control: str | None = REVALIDATE,
) -> tuple[tuple[str, str], ...]:
    """The header fields a 304 repeats from the 200 `answer` (or from its validators alone).

    From validators alone: the ETag (else Last-Modified) and `cache_control`,
    what the 200 carrying them says of caching when its app says nothing
    (`_read_caching.REVALIDATE`; None: nothing).
    """
    if isinstance(answer, Validators):
        if answer.etag is not None:
            validator = ("ETag", answer.etag.to_header())
        elif answer.last_modified is not None:
            validator = ("Last-Modified", format_http_date(answer.last_modified))
        else:
            return ()
        if cache_control is None:
            return (validator,)
        return (validator, ("Cache-Control", cache_control))
    pairs = tuple(answer)
    names = {name.lower() for name, _ in pairs}
    kept = set(keep)
    if "etag" not in names:
        kept.add("last-modified")
    return tuple((name, value) for name, value in pairs if name.lower() in kept)


def planned_fields(
    current: Validators,
    fields: ResponseFields = (),
    *,
    cache_control: str | None = REVALIDATE,
) -> list[tuple[str, str]]:
    """The header fields a 200 will carry: `fields` set on it so far, and where they do not say,
    `current`'s validators and `cache_control` (what a read with a validator says of caching
    when its app says nothing; None: nothing). A 304 made before the 200 repeats these."""
    pairs = list(fields)
    names = {name.lower() for name, _ in pairs}
    if current.etag is not None and "etag" not in names:
        pairs.append(("ETag", current.etag.to_header()))
    if current.last_modified is not None and "last-modified" not in names:
        pairs.append(("Last-Modified", format_http_date(current.last_modified)))
    return with_read_caching("GET", 200, pairs, cache_control)


def validators_of(fields: ResponseFields, *, dates: bool = True) -> Validators:
    """The validators a response's header fields carry (`dates`: Last-Modified too).

    ETag and Last-Modified are singleton fields: one that is malformed, or
    sent more than once, is as good as none (a validator the server sent
    wrongly validates nothing).
    """
    etags: list[str] = []
    modified: list[str] = []
    for name, value in fields:
        lower = name.lower()
        if lower == "etag":
            etags.append(value)
        elif dates and lower == "last-modified":
            modified.append(value)
    return Validators(_one(etags, ETag.parse), _one(modified, parse_http_date))


def _one(lines: list[str], parse: Callable[[str], _T]) -> _T | None:
    if len(lines) != 1:
        return None
    try:
        return parse(lines[0])
    except MalformedHeader:
        return None
