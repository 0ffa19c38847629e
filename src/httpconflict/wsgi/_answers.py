"""Answering from WSGI middleware: capture an app's answer, send one, send a problem.

Both middlewares hold an app's whole answer back (`run`) until they know
what to send; a WSGI app may call ``start_response`` late, write through
the callable it returns, or raise while its body is iterated, and all of
it is captured here. `PEP 3333` types come from typeshed. An app that
finds its formed answer untrue after it was formed (a Flask teardown's
COMMIT that failed or was refused) raises `AnswerReplaced`: its problem is
then the app's answer.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, TypeAlias

from .._errors import problem_and_fields, with_problem_caching
from .._idempotency_request import Interrupted
from .._late_errors import AnswerReplaced
from .._problem import MEDIA_TYPE, ProblemDetails

if TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse as StartResponse
    from _typeshed.wsgi import WSGIApplication as WSGIApplication
    from _typeshed.wsgi import WSGIEnvironment as WSGIEnvironment
else:
    StartResponse = WSGIApplication = WSGIEnvironment = Any

Headers: TypeAlias = list[tuple[str, str]]


@dataclass(slots=True)
class Captured:
    """An app's whole answer, held back until it may be sent."""

    status: str = "500 Internal Server Error"
    headers: Headers = field(default_factory=list)
    chunks: list[bytes] = field(default_factory=list)
    error: Exception | None = None

    @property
    def status_code(self) -> int:
        return int(self.status.split(" ", 1)[0])

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)

    def text_headers(self) -> Headers:
        return self.headers


def run(app: WSGIApplication, environ: WSGIEnvironment, body: bytes | None) -> Captured:
    """Run the app (on the body already read, if any), capturing its whole answer."""
    if body is not None:
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
    captured = Captured()
    started = False

    def capture(status: str, headers: Headers, exc_info: Any = None) -> Callable[[bytes], object]:
        # PEP 3333: start_response may be called again with exc_info until
        # the headers are sent; nothing is sent before the app is done.
        nonlocal started
        started = True
        captured.status, captured.headers = status, list(headers)
        return captured.chunks.append

    try:
        iterable = app(environ, capture)
        try:
            captured.chunks.extend(iterable)
        finally:
            close = getattr(iterable, "close", None)
            if close is not None:
                close()
    except AnswerReplaced as replaced:  # the app's answer, as it replaced the one it formed
        details, fields = problem_and_fields(replaced.problem)
        captured.status = status_line(details.status or 500)
        captured.headers = [("Content-Type", MEDIA_TYPE), *fields.items()]
        captured.chunks = [details.to_json()]
    except Exception as error:  # handed to the caller, which releases the key and re-raises
        captured.error = error
    except BaseException as error:  # interrupted: the key's answer or release first, then it
        captured.error = Interrupted(error)
    else:
        if not started:
            captured.error = RuntimeError("the app returned without calling start_response")
    return captured


def environ_name(field_name: str) -> str:
    return "HTTP_" + field_name.upper().replace("-", "_")


def header_lines(environ: WSGIEnvironment, name: str) -> list[str]:
    # Servers join repeated field lines with commas (RFC 9110 §5.3).
    value = environ.get(name)
    return [] if value is None else [value]


def status_line(status: int) -> str:
    """A WSGI status line, such as ``"412 Precondition Failed"``."""
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Unknown"


def problem_answer(
    start_response: StartResponse,
    problem: ProblemDetails,
    headers: dict[str, str] | None = None,
    *,
    exc_info: OptExcInfo | None = None,
) -> Iterable[bytes]:
    """Answer with an RFC 9457 problem (`exc_info` as PEP 3333's start_response takes it)."""
    fields = [("Content-Type", MEDIA_TYPE), *with_problem_caching(headers).items()]
    body = problem.to_json()
    return send(start_response, status_line(problem.status or 500), fields, body, exc_info)


def send(
    start_response: StartResponse,
    status: str,
    headers: Headers,
    body: bytes,
    exc_info: OptExcInfo | None = None,
) -> list[bytes]:
    headers = [(n, v) for n, v in headers if n.lower() != "content-length"]
    headers.append(("Content-Length", str(len(body))))
    start_response(status, headers, exc_info)
    return [body]


def pass_on(start_response: StartResponse, captured: Captured) -> list[bytes]:
    """The app's answer as it gave it (a HEAD's Content-Length is the GET's)."""
    start_response(captured.status, captured.headers)
    return captured.chunks
