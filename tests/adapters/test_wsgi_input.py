"""Reading a WSGI body whole or not at all (httpconflict._wsgi_input), over real sockets.

The stream is what werkzeug's development server hands an app: a socket's
buffered reader, wrapped in werkzeug's `DechunkedInput` for a chunked
body. The "client" end of a socket pair writes part of a body and closes.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.exceptions import ClientDisconnected
from werkzeug.serving import DechunkedInput
from werkzeug.wsgi import LimitedStream

from httpconflict import ContentTooLarge, IncompleteBody
from httpconflict._wsgi_input import WholeInput, read_body

BODY = b'{"a": 1}\n{"b": 2}\n' + b" " * 82  # 100 bytes, two lines and padding


@pytest.fixture
def sent() -> Iterator[Any]:
    """Send bytes and close the client end; returns the server end's reader."""
    server, client = socket.socketpair()
    readers = []

    def send(data: bytes) -> Any:
        client.sendall(data)
        client.close()
        reader = server.makefile("rb")
        readers.append(reader)
        return reader

    yield send
    for reader in readers:
        reader.close()
    server.close()


def chunked(data: bytes, *, last: bool) -> bytes:
    """`data` as one chunk, with the last (zero) chunk or without it."""
    return f"{len(data):x}\r\n".encode() + data + b"\r\n" + (b"0\r\n\r\n" if last else b"")


def environ(stream: Any, length: int | None) -> dict[str, Any]:
    if length is None:
        return {"wsgi.input": DechunkedInput(stream), "wsgi.input_terminated": True}
    return {"wsgi.input": stream, "CONTENT_LENGTH": str(length)}


def test_a_whole_body_is_read(sent: Any) -> None:
    """With Content-Length or chunked, a body that arrived whole is the body."""
    stream = sent(BODY + chunked(BODY, last=True))
    assert read_body(environ(stream, len(BODY)), limit=1000) == BODY
    assert read_body(environ(stream, None), limit=1000) == BODY


def test_a_body_short_of_its_content_length_is_incomplete(sent: Any) -> None:
    """The stream ends after 40 of 100 bytes: IncompleteBody (400, an OSError), not 40 bytes."""
    stream = sent(BODY[:40])
    with pytest.raises(IncompleteBody) as caught:
        read_body(environ(stream, len(BODY)), limit=1000)
    assert isinstance(caught.value, OSError)
    assert caught.value.status == 400
    assert caught.value.received == 40
    assert caught.value.problem.type.endswith("/incomplete-body")


def test_a_chunked_body_without_its_last_chunk_is_incomplete(sent: Any) -> None:
    """werkzeug's chunked reader raises OSError at the cut; it is an IncompleteBody."""
    stream = sent(chunked(BODY[:40], last=False))
    with pytest.raises(IncompleteBody, match="Invalid chunk header"):
        read_body(environ(stream, None), limit=1000)


def test_a_body_over_the_limit_is_too_large(sent: Any) -> None:
    """Chunked or not, over the limit is 413, read no further than the limit."""
    with pytest.raises(ContentTooLarge):
        read_body(environ(sent(chunked(BODY, last=True)), None), limit=99)


def test_whole_input_reads_like_the_stream_when_the_body_is_whole(sent: Any) -> None:
    """Pieces, lines and iteration return the body as the server's stream would."""
    stream = WholeInput(sent(BODY), len(BODY))
    assert stream.read(3) == b'{"a'
    assert stream.readline() == b'": 1}\n'
    assert list(stream) == [b'{"b": 2}\n', b" " * 82]
    assert stream.read() == b""


def test_whole_input_raises_where_the_stream_reads_short(sent: Any) -> None:
    """A read that reaches past the end of what arrived raises instead of returning less."""
    stream = WholeInput(sent(BODY[:20]), len(BODY))
    assert stream.readline() == b'{"a": 1}\n'
    with pytest.raises(IncompleteBody, match="ended after 20 of its 100 bytes"):
        stream.read()


def test_werkzeug_sees_a_cut_body_as_a_client_disconnect(sent: Any) -> None:
    """Under werkzeug's LimitedStream (Flask's request.stream), the cut is ClientDisconnected."""
    limited = LimitedStream(WholeInput(sent(BODY[:40]), len(BODY)), len(BODY))  # type: ignore[arg-type]  # any stream with read()
    with pytest.raises(ClientDisconnected):
        limited.read()
