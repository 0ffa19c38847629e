"""The problems the connection guards answer with (see `protocol`), and their bytes on the wire."""

from __future__ import annotations

import time

from uvicorn.protocols.http.httptools_impl import STATUS_LINE

from .. import ProblemDetails, date_fields
from ..problem_types import HEADER_FIELDS_TOO_LARGE, MEDIA_TYPE


def refusal_bytes(
    problem: ProblemDetails,
    headers: tuple[tuple[bytes, bytes], ...],
    default_headers: list[tuple[bytes, bytes]],
) -> bytes:
    """`problem` as a connection's last answer: its status line, fields and JSON body."""
    status = problem.status or 400
    body = problem.to_json()
    content = [STATUS_LINE[status]]
    # The app stamps Date on its answers (AnswerFields); this one is made here.
    date = (b"date", date_fields(time.time(), None)[0].encode("latin-1"))
    defaults = [(n, v) for n, v in default_headers if n != b"date"]
    for name, value in (*defaults, date, *headers):
        content.extend([name, b": ", value, b"\r\n"])
    content.extend(
        [
            b"content-type: " + MEDIA_TYPE.encode() + b"\r\n",
            b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
            b"connection: close\r\n",
            b"\r\n",
            body,
        ]
    )
    return b"".join(content)


def transfer_codings(headers: list[tuple[bytes, bytes]]) -> list[str]:
    """The request's transfer codings but chunked (which the parser undoes) and identity."""
    codings: list[str] = []
    for name, value in headers:
        if name == b"transfer-encoding":
            for element in value.split(b","):
                coding = element.strip(b" \t").lower()
                if coding not in (b"", b"chunked", b"identity"):
                    codings.append(coding.decode("latin-1"))
    return codings


def coding_not_implemented(codings: list[str]) -> ProblemDetails:
    # RFC 9112 §6.1: "A server that receives a request message with a transfer
    # coding it does not understand SHOULD respond with 501 (Not Implemented)."
    return ProblemDetails(
        type="about:blank",
        title="Not Implemented",
        status=501,
        detail=f"the request's Transfer-Encoding names {', '.join(codings)}, which this server "
        "does not decode: send the body chunked or with a Content-Length, uncoded",
    )


def head_too_large(limit: int) -> ProblemDetails:
    return HEADER_FIELDS_TOO_LARGE.problem(
        f"the request's head (request line and header fields) is larger than {limit} bytes",
        max_bytes=limit,
    )
