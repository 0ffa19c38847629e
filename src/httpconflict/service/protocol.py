"""Requests the HTTP parser rejects still get a problem+json answer.

A request line with a method the parser does not know (``FOO / HTTP/1.1``),
or a malformed header, never reaches the app: uvicorn answers 400 with a
plain-text body itself. This protocol class answers the same 400 as an RFC
9457 problem, so every error a client of the service sees is one.
"""

from __future__ import annotations

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from .._problem import MEDIA_TYPE, ProblemDetails


class ProblemHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with parser errors as problem details."""

    def send_400_response(self, msg: str) -> None:
        body = ProblemDetails(
            type="about:blank",
            title="Bad Request",
            status=400,
            detail=f"the HTTP parser refused the request: {msg}",
        ).to_json()
        content = [STATUS_LINE[400]]
        for name, value in self.server_state.default_headers:
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
        self.transport.write(b"".join(content))
        self.transport.close()
