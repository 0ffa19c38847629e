"""The exception tree. Each error carries the problem a server should answer.

    ProblemError                     .problem: ProblemDetails, .status
     +-- MalformedHeader (ValueError)         400 malformed-header
     |    +-- HeaderFieldTooLarge             431 header-fields-too-large (header, max_elements)
     +-- MalformedJSON (ValueError)           400 malformed-json
     +-- InvalidDocument (ValueError)         422 invalid-document
     |    +-- JsonLimitExceeded               422 json-limit (limit, max, pointer, number)
     +-- InvalidParameter (ValueError)        400 invalid-parameter
     +-- UnsupportedMediaType                 415 unsupported-media-type
     +-- ContentTooLarge                      413 content-too-large
     |    +-- PatchTooLarge (ValueError)      (_patch_budget) max_bytes, operation, pointer
     +-- IncompleteBody (OSError)             400 incomplete-body
     +-- NotFound (LookupError)               404 not-found
     +-- PreconditionFailed                   412 precondition-failed
     +-- PreconditionRequired                 428 precondition-required
     +-- MergeConflict                        409 merge-conflict (conflicts, current_etag)
     +-- JsonPatchError (ValueError)          (_json_patch) operation, pointer
     |    +-- MalformedPatch                  400 malformed-patch
     |    +-- PatchTestFailed                 409 patch-test-failed
     |    +-- PatchNotApplicable              409 patch-not-applicable
     +-- IdempotencyKeyInFlight               409 idempotency-key-in-flight
     |    +-- IdempotencyKeyTaken
     +-- IdempotencyKeyRecordedLate (RuntimeError) 500 idempotency-key-recorded-late
     +-- Unavailable                          503 unavailable (retry_after, incident)
     |    +-- WritesUnavailable               503 unavailable: the store takes no write (state)
     +-- WriteOutcomeUnknown                       504 outcome-unknown (retry_after, incident)

Errors raised for bad input also subclass the builtin a caller would catch
(`ValueError`), so `except ValueError` around a parse keeps working; an
incomplete body is an `OSError`, as a failed read is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from . import _problem
from ._problem import ProblemDetails, ProblemType


class ProblemError(Exception):
    """An error that knows which problem details a server should answer with."""

    problem_type: ProblemType = _problem.INTERNAL_ERROR

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.problem: ProblemDetails = self.problem_type.problem(detail, **extensions)

    @property
    def status(self) -> int:
        status = self.problem.status
        return status if status is not None else self.problem_type.status


def problem_headers(error: ProblemError) -> dict[str, str]:
    """The header fields an error's answer carries: Retry-After when it names a delay.

    RFC 9110 §10.2.3: Retry-After is delay-seconds (or a date); a 503, or a
    409 for a key still in flight, says how long to wait before a retry.
    """
    retry_after = error.problem.extensions.get("retry_after")
    if isinstance(retry_after, int) and not isinstance(retry_after, bool):
        return {"Retry-After": str(retry_after)}
    if isinstance(error, UnsupportedMediaType) and error.accept_encoding:
        # §12.5.3: a 415 for a content coding names the codings taken.
        return {"Accept-Encoding": ", ".join(error.accept_encoding)}
    return {}


#: How a cache may keep a problem answer: not at all. RFC 9111 §4.2.2 lets a cache keep a
#: 404, 405, 410, 414 or 501 that says nothing of its freshness ("heuristically
#: cacheable"; Varnish keeps one 120 s), and §3 any status that says it is fresh; a problem
#: tells of one moment (a document absent, a key in flight, a tag gone stale), and a
#: cache that kept it would answer it after the write that changed it.
PROBLEM_CACHE_CONTROL: Final = "no-store"


def with_problem_caching(headers: Mapping[str, str] | None) -> dict[str, str]:
    """A problem answer's header fields: `headers`, and ``Cache-Control`` unless they set one."""
    fields = dict(headers or {})
    if not any(name.lower() == "cache-control" for name in fields):
        fields["Cache-Control"] = PROBLEM_CACHE_CONTROL
    return fields


def problem_and_fields(
    problem: ProblemDetails | ProblemError, headers: Mapping[str, str] | None = None
) -> tuple[ProblemDetails, dict[str, str]]:
    """What an answer carries for `problem`: its details, and an error's fields, then `headers`.

    ``Cache-Control: no-store`` unless `headers` say otherwise (`PROBLEM_CACHE_CONTROL`).

    Every adapter's `problem_response` takes a `ProblemDetails` or a raised
    `ProblemError`; this is where they are told apart.
    """
    if isinstance(problem, ProblemError):
        return problem.problem, with_problem_caching(
            {**problem_headers(problem), **(headers or {})}
        )
    return problem, with_problem_caching(headers)


class MalformedHeader(ProblemError, ValueError):
    """A header field value does not follow its grammar."""

    problem_type = _problem.MALFORMED_HEADER

    def __init__(self, detail: str, *, value: str, header: str | None = None) -> None:
        extensions: dict[str, Any] = {"value": value}
        if header is not None:
            extensions["header"] = header
        super().__init__(detail, **extensions)
        self.value = value
        self.header = header

    def for_header(self, header: str) -> MalformedHeader:
        """The same error, naming the header field it was found in."""
        detail = f"{header}: {self.args[0]}"
        return MalformedHeader(detail, value=self.value, header=header)


class HeaderFieldTooLarge(MalformedHeader):
    """A header field's list holds more elements than the server reads.

    A `MalformedHeader` too, so code that refuses a malformed field refuses
    this one; its problem is the 431 of RFC 6585 §5, which "can be used ...
    when a single header field is at fault". The value is not echoed back.
    """

    problem_type = _problem.HEADER_FIELDS_TOO_LARGE

    def __init__(
        self, detail: str, *, value: str, max_elements: int, header: str | None = None
    ) -> None:
        extensions: dict[str, Any] = {"max_elements": max_elements}
        if header is not None:
            extensions["header"] = header
        ProblemError.__init__(self, detail, **extensions)
        self.value = value
        self.header = header
        self.max_elements = max_elements

    def for_header(self, header: str) -> HeaderFieldTooLarge:
        detail = f"{header}: {self.args[0]}"
        return HeaderFieldTooLarge(
            detail, value=self.value, max_elements=self.max_elements, header=header
        )


class MalformedJSON(ProblemError, ValueError):
    """The request body is not a valid JSON text."""

    problem_type = _problem.MALFORMED_JSON


class InvalidDocument(ProblemError, ValueError):
    """The request body is JSON but not an acceptable document."""

    problem_type = _problem.INVALID_DOCUMENT


class JsonLimitExceeded(InvalidDocument):
    """The JSON is valid but outside the JSON domain: too deep, a number or string it refuses.

    `limit` names the limit (``depth``, ``number-digits``...; see
    `httpconflict._json_domain`), `maximum` its value where it has one
    (the problem's ``max``), `pointer` where the value is when known, and
    `number` the text of a refused number.
    """

    problem_type = _problem.JSON_LIMIT

    def __init__(
        self,
        detail: str,
        *,
        limit: str,
        maximum: int | None = None,
        pointer: str | None = None,
        number: str | None = None,
    ) -> None:
        optional = {"max": maximum, "pointer": pointer, "number": number}
        extensions = {name: value for name, value in optional.items() if value is not None}
        super().__init__(detail, limit=limit, **extensions)
        self.limit = limit
        self.maximum = maximum
        self.pointer = pointer
        self.number = number


class InvalidParameter(ProblemError, ValueError):
    """A path segment or query parameter is invalid."""

    problem_type = _problem.INVALID_PARAMETER

    def __init__(self, detail: str, *, parameter: str) -> None:
        super().__init__(detail, parameter=parameter)

    @classmethod
    def given_twice(cls, parameter: str) -> InvalidParameter:
        """The 400 for a parameter given more than once: taking one would be a guess."""
        return cls(f"{parameter} is given more than once: give it once", parameter=parameter)


class UnsupportedMediaType(ProblemError):
    """The request's Content-Type is not accepted by the resource."""

    problem_type = _problem.UNSUPPORTED_MEDIA_TYPE

    def __init__(
        self, detail: str, *, accept: Iterable[str], accept_encoding: Iterable[str] = ()
    ) -> None:
        self.accept = tuple(accept)
        self.accept_encoding = tuple(accept_encoding)
        if self.accept_encoding:
            # Refused for its content coding, not its media type.
            super().__init__(detail, accept_encoding=list(self.accept_encoding))
        else:
            super().__init__(detail, accept=list(self.accept))


class ContentTooLarge(ProblemError):
    """The request body is larger than the limit."""

    problem_type = _problem.CONTENT_TOO_LARGE

    def __init__(self, detail: str, *, max_bytes: int) -> None:
        super().__init__(detail, max_bytes=max_bytes)


class IncompleteBody(ProblemError, OSError):
    """The request body ended before its end: the client went away, or the stream failed.

    An `OSError`, as a failed read of the stream is, so code that reads a
    body and catches `OSError` (werkzeug's `LimitedStream`, Django's
    `request.body`) treats it as the broken stream it stands for.
    """

    problem_type = _problem.INCOMPLETE_BODY

    def __init__(self, detail: str, *, received: int | None = None) -> None:
        super().__init__(detail, **({} if received is None else {"received": received}))
        self.received = received


class NotFound(ProblemError, LookupError):
    """There is no current representation of the target resource."""

    problem_type = _problem.NOT_FOUND


class PreconditionFailed(ProblemError):
    """A condition of the request evaluated to false (412)."""

    problem_type = _problem.PRECONDITION_FAILED

    def __init__(self, detail: str, *, current_etag: str | None) -> None:
        # `current_etag` is the field value a client puts in If-Match next
        # (null when nothing exists), so it can retry without guessing.
        super().__init__(detail, current_etag=current_etag)


class MergeConflict(ProblemError):
    """A change made from an older version overlaps what was written since.

    `conflicts` lists each clash as ``{"pointer", "base", "current",
    "requested"}`` (a side where the member is absent is left out);
    `current_etag` is the ETag to send with a resolved change.
    """

    problem_type = _problem.MERGE_CONFLICT

    def __init__(self, detail: str, *, conflicts: list[dict[str, Any]], current_etag: str) -> None:
        super().__init__(detail, conflicts=conflicts, current_etag=current_etag)
        self.conflicts = conflicts
        self.current_etag = current_etag


class PreconditionRequired(ProblemError):
    """A state-changing request came without a precondition (428)."""

    problem_type = _problem.PRECONDITION_REQUIRED


class Unauthorized(ProblemError):
    """The request has no valid bearer credential where one is required (401).

    `error` is RFC 6750's error code for the WWW-Authenticate header:
    None when no credential came, "invalid_token" when one was refused.
    """

    problem_type = _problem.UNAUTHORIZED

    def __init__(self, detail: str, *, error: str | None = None) -> None:
        super().__init__(detail)
        self.error = error


class Unavailable(ProblemError):
    """The backing store cannot take the request (unreachable, busy, read-only, full);
    nothing was applied (503).

    `detail` says in words what is down; `incident` names the server's log
    line that holds the rest (the driver's own text), which never goes in
    the answer.
    """

    problem_type = _problem.UNAVAILABLE

    def __init__(self, detail: str, *, retry_after: int = 1, incident: str | None = None) -> None:
        extensions: dict[str, Any] = {"retry_after": retry_after}
        if incident is not None:
            extensions["incident"] = incident
        super().__init__(detail, **extensions)
        self.retry_after = retry_after
        self.incident = incident


class WritesUnavailable(Unavailable):
    """The store answers, but takes no write now: `state` says why ("read-only", "full") (503).

    What a health check learns by asking the store whether it could write:
    a load balancer is told the instance cannot serve writes, and why.
    """

    def __init__(self, state: str, detail: str, *, incident: str | None = None) -> None:
        super().__init__(detail, incident=incident)
        self.state = state


class WriteOutcomeUnknown(ProblemError):
    """The store lost its connection after a write was sent: it may have been applied (504).

    Not an `Unavailable`, which promises that nothing was applied: only the
    write's Idempotency-Key, sent again, can tell what became of it.
    """

    problem_type = _problem.OUTCOME_UNKNOWN

    def __init__(self, detail: str, *, retry_after: int = 1, incident: str | None = None) -> None:
        extensions: dict[str, Any] = {"retry_after": retry_after}
        if incident is not None:
            extensions["incident"] = incident
        super().__init__(detail, **extensions)
        self.retry_after = retry_after
        self.incident = incident


class IdempotencyKeyInFlight(ProblemError):
    """Another request holds the Idempotency-Key (409)."""

    problem_type = _problem.IDEMPOTENCY_KEY_IN_FLIGHT

    def __init__(self, detail: str, *, retry_after: int = 1) -> None:
        super().__init__(detail, retry_after=retry_after)
        self.retry_after = retry_after


class IdempotencyKeyTaken(IdempotencyKeyInFlight):
    """Another request recorded its answer under the key first; this write was undone."""


class IdempotencyKeyRecordedLate(ProblemError, RuntimeError):
    """An answer recorded after its request committed a write to that database (500).

    The app's mistake (`_request_writes.check_first_write`): the key is
    recorded in the transaction of the request's first write, or a crash
    between the two, or any retry, applies that write again.
    """

    problem_type = _problem.IDEMPOTENCY_KEY_RECORDED_LATE
