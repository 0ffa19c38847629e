"""Answers to HTTP/1.0 requests: a body of unknown length ends with the connection, not chunked.

uvicorn's httptools protocol frames every body sent without a
Content-Length chunked, whatever the request's version; but an HTTP/1.0
client knows no Transfer-Encoding (RFC 9112 §6.1: a server MUST NOT send
one in answer to an HTTP/1.0 request), and reads the chunk sizes as
content: the change feed's events and a streamed list came with hex
lengths between their lines. For such a request (which uvicorn never
keeps alive) the body is sent as it is, and the connection's close ends
it, as uvicorn's h11 protocol does.
"""

from __future__ import annotations

from typing import Any, Final

from uvicorn.protocols.http.httptools_impl import RequestResponseCycle

#: The length allowed to a body still being sent (uvicorn counts it down).
_OPEN: Final = 2**62


class CloseDelimitedCycle(RequestResponseCycle):
    """uvicorn's request-response cycle for an HTTP/1.0 request (see the module)."""

    _until_close = False

    async def send(self, message: Any) -> None:
        if message["type"] == "http.response.start" and not self.response_started:
            named = {name.lower() for name, _ in message.get("headers", [])}
            if (
                self.scope["method"] != "HEAD"
                and message["status"] not in (204, 304)
                and not named & {b"content-length", b"transfer-encoding"}
            ):
                self._until_close = True
                self.chunked_encoding = False
                self.expected_content_length = _OPEN
        elif self._until_close and message["type"] == "http.response.body":
            last = not message.get("more_body", False)
            self.expected_content_length = len(message.get("body", b"")) if last else _OPEN
        await super().send(message)
