"""What a client flow and its driver exchange: commands, replies, and how an operation ends.

A flow yields `Send` (reply: `Received`, or `TransportFailure` when no
answer came) and `Sleep` (reply: None), and returns a `StoredDocument` or
a `GaveUp`. Answers come stamped with when they arrived: the core never
reads the clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from ._client_retry import GiveUpReason
from ._json_value import Json, json_type
from ._media import parse_json
from ._problem import MEDIA_TYPE as PROBLEM_MEDIA_TYPE
from ._problem import PROBLEM_TYPE_BASE, ProblemDetails


@dataclass(frozen=True, slots=True)
class Send:
    """Command: send this request; reply with `Received` or `TransportFailure`."""

    method: str
    url: str
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)


@dataclass(frozen=True, slots=True)
class Sleep:
    """Command: wait this many seconds; reply with None."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Received:
    """An answer, stamped with when it came (`at`: monotonic, `wall`: epoch seconds).

    `headers` is any mapping that finds a field by its lower-case name
    (``httpx.Headers`` does). `whole`: False when the body went on past
    what the client reads (its `max_answer`): `body` is its first bytes,
    which show no JSON (`json_object`); the status and fields still count.
    `redirects`: how many redirects the driver followed to this answer.
    """

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    at: float = 0.0
    wall: float = 0.0
    whole: bool = True
    redirects: int = 0

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def problem(self) -> ProblemDetails | None:
        """The RFC 9457 problem in the body, if it is application/problem+json."""
        content_type = self.header("content-type") or ""
        if content_type.partition(";")[0].strip().lower() != PROBLEM_MEDIA_TYPE:
            return None
        data = self.json_object()
        return ProblemDetails.from_dict(data) if isinstance(data, dict) else None

    def json_object(self) -> dict[str, Any] | str:
        """The JSON object in the body, or why there is none.

        The body is read as the core reads any JSON text (`parse_json`): in
        the JSON domain, so a body nested past its depth is refused like
        any text that is not JSON, not recursed into (a server's answer
        nested 100,000 deep raised RecursionError out of the client).
        """
        if not self.whole:
            return f"it is longer than the {len(self.body):,} bytes the client reads"
        if not self.body:
            # parse_json's own words are for a server reading a request body.
            return "the answer's body is empty"
        try:
            value = parse_json(self.body)
        except ValueError as error:
            return str(error)
        return value if isinstance(value, dict) else f"it is a JSON {json_type(value)}"


@dataclass(frozen=True, slots=True)
class TransportFailure:
    """No answer came: the connection failed or timed out, or the answer could not be read.

    An answer whose body its Content-Encoding does not decode (or that
    redirected without end) is no answer: what the server did is unknown;
    but not a write's 2xx, whose status says it was applied (the driver
    replies `Received` with ``whole=False``).

    `sent`: the request may have reached the server, so it may have been
    applied (False when the connection was never made: nothing was sent).
    """

    error: Exception
    at: float = 0.0
    wall: float = 0.0
    sent: bool = True


Command: TypeAlias = Send | Sleep
Reply: TypeAlias = Received | TransportFailure | None


@dataclass(frozen=True, slots=True)
class StoredDocument:
    """A document as the server stored it, after an operation that succeeded.

    `document` is None only when the server merged the change and neither
    its answer nor a read after it showed the result (the change was made).
    `etag` is the ETag field value (``'"abc"'``), None if the server sent
    none. `rebased_from`: the server merged this change, made from that
    older version, with changes made since. `replayed`: a create answered
    from its Idempotency-Key (a retry of a create that had happened).
    """

    url: str
    document: Json
    etag: str | None
    attempts: int = 1
    rebased_from: str | None = None
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class GaveUp:
    """The end of an operation that did not succeed, with everything known about why."""

    reason: GiveUpReason
    #: "update", "create" or "watch".
    operation: str
    url: str
    attempts: int
    #: The last request sent.
    sent: Send | None = None
    #: The last answer received, if any came.
    received: Received | None = None
    #: The transport error of the last try, if it got no answer.
    error: Exception | None = None
    detail: str = ""

    @property
    def problem(self) -> ProblemDetails | None:
        return self.received.problem if self.received is not None else None

    def describe(self) -> str:
        """Why, in one line: what was tried, how often, and the last answer."""
        tries = f"{self.attempts} attempt{'s' if self.attempts != 1 else ''}"
        head = f"{self.operation} of {self.url}"
        if self.reason is GiveUpReason.CHANGES_EXPIRED:
            line = f"{head} failed after {tries}: {self.detail}; last: {self._last()}"
        elif self.reason is GiveUpReason.REFUSED:
            line = f"{head} failed after {tries}: {self._last()}"
            if self.detail:
                line += f"; {self.detail}"
        elif self.reason is GiveUpReason.OUTCOME_UNKNOWN:
            method = self.sent.method if self.sent is not None else "the write"
            line = (
                f"{head}: whether the {method} was applied is unknown after {tries} "
                f"({self.detail}); last: {self._last()}; read the resource to find out"
            )
        else:
            line = f"{head} gave up after {tries}: {self.detail}; last: {self._last()}"
        return " ".join(line.split())

    def _last(self) -> str:
        method = self.sent.method if self.sent is not None else "the request"
        if self.error is not None:
            # httpx's ReadTimeout out of anyio has no message (the sync one says "timed out").
            said = f": {self.error}" if str(self.error) else ""
            return f"{method} got no answer ({type(self.error).__name__}{said})"
        if self.received is None:
            return f"{method} got no answer"
        return f"{method} answered {_summary(self.received, method)}"


def _summary(received: Received, method: str) -> str:
    problem = received.problem
    location = received.header("location")
    if 300 <= received.status < 400 and location:
        # The flows follow no redirect themselves (a write's method, body
        # and preconditions are not the caller's to resend elsewhere); the
        # driver does when its httpx client is made with
        # follow_redirects=True, but never one that changes the method.
        why = ""
        if method_after_redirect(method, received.status) != method:
            why = f": following it would turn the {method} into a GET"
        elif received.redirects:
            why = f": {received.redirects} were followed to it, a loop or too long a chain"
        return f"{received.status} to {location} (a redirect, not followed{why})"
    if problem is None:
        return f"{received.status}"
    kind = problem.type.removeprefix(PROBLEM_TYPE_BASE)
    text = f"{received.status} {kind}"
    said = [part for part in (problem.title, problem.detail) if part]
    if said:
        text += ": " + " - ".join(said)
    conflicts = problem.extensions.get("conflicts")
    if isinstance(conflicts, list) and conflicts:
        pointers = [str(c.get("pointer")) for c in conflicts if isinstance(c, dict)]
        text += f" (conflicts at {', '.join(pointers)})"
    current = problem.extensions.get("current_etag")
    if isinstance(current, str):
        text += f" (current ETag {current})"
    return text


def method_after_redirect(method: str, status: int) -> str:
    """The method a user agent resends `method` with after a `status` redirect.

    RFC 9110 §15.4.4: a 303 is followed by "a GET or HEAD request"; §15.4.2
    and §15.4.3 (301, 302): "a user agent MAY change the request method
    from POST to GET" (every browser does, and so does httpx).
    """
    if status == 303 and method != "HEAD":
        return "GET"
    if status in (301, 302) and method == "POST":
        return "GET"
    return method
