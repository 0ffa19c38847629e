"""Entity-tags that stay right when a compression middleware codes the answer.

A compression middleware (Starlette's ``GZipMiddleware``, for one) sends
the app's answer gzip-coded and keeps its ETag: the coded bytes then carry
the strong tag of the plain ones, which RFC 9110 §8.8.3.3 forbids. Wrapped
around it, `CodedETagMiddleware` gives a coded answer its own tag
(``"abc"`` becomes ``"abc-gzip"``), turns such tags in If-Match and
If-None-Match back into plain ones before the app sees them (so a client
that read the gzip form writes with If-Match as anyone else), answers a
304 with the tag the client named, and says ``Vary: Accept-Encoding`` on
every answer. The decisions are the core's (``_content_coding``)::

    app = CodedETagMiddleware(GZipMiddleware(app, minimum_size=1024))
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from .._content_coding import (
    accepts_coding,
    encoded_etag,
    identity_etags,
    not_modified_etag,
    vary_with,
)
from .types import ASGIApp, Message, Receive, Scope, Send

# accepts_coding: for the compression layer in front, which decides whether to code at all.
__all__ = ["CodedETagMiddleware", "accepts_coding"]

_PRECONDITIONS = (b"if-match", b"if-none-match")
_VARY = (b"vary", vary_with([]).encode("latin-1"))


class CodedETags:
    """What `CodedETagMiddleware` does to a request and to its answer, for a layer that does more.

    `read_back` gives the request as the app should see it (coded tags in
    If-Match and If-None-Match made plain) and the coded tags If-None-Match
    named; `answer_fields` the answer's header fields (its coded tag, the
    tag a 304 names, Vary).
    """

    def __init__(self, codings: Collection[str] = ("gzip",)) -> None:
        self.codings = frozenset(coding.lower() for coding in codings)
        # A coded tag's opaque part ends in "-" and its coding (`encoded_etag`):
        # a field without any such text names none, and is not parsed here.
        self._suffixes = tuple(f"-{coding}".encode("latin-1") for coding in self.codings)

    def read_back(self, scope: Scope) -> tuple[Scope, dict[str, str]]:
        coded: dict[str, str] = {}
        headers = scope["headers"]
        plain: list[tuple[bytes, bytes]] | None = None
        for index, (name, value) in enumerate(headers):
            if name not in _PRECONDITIONS or not self._names_coded(value):
                continue
            found = identity_etags(value.decode("latin-1"), self.codings)
            if found.value is not None:
                plain = plain if plain is not None else list(headers)
                plain[index] = (name, found.value.encode("latin-1"))
                if name == b"if-none-match":
                    coded.update(found.coded)
        if plain is not None:
            scope = {**scope, "headers": plain}
        return scope, coded

    def _names_coded(self, value: bytes) -> bool:
        # A loop, not any(): no generator made for each precondition of each request.
        for suffix in self._suffixes:  # noqa: SIM110
            if suffix in value:
                return True
        return False

    def answer_fields(
        self, status: int, headers: Iterable[tuple[bytes, bytes]], coded: dict[str, str]
    ) -> list[tuple[bytes, bytes]]:
        fields: list[tuple[bytes, bytes]] = []
        vary: list[str] = []
        etag_at: int | None = None
        coding: str | None = None
        for name, value in headers:
            lower = name.lower()
            if lower == b"vary":
                vary.append(value.decode("latin-1"))
                continue
            if lower == b"etag":
                etag_at = len(fields)
            elif lower == b"content-encoding":
                coding = content_coding(value)
            fields.append((name, value))
        if etag_at is not None:
            name, value = fields[etag_at]
            fields[etag_at] = (name, self.answer_etag(status, value, coding, coded))
        fields.append(vary_field(vary))
        return fields

    def answer_etag(
        self, status: int, etag: bytes, coding: str | None, coded: dict[str, str]
    ) -> bytes:
        """The ETag field's value as sent: a coded answer's own, or a 304's the client named.

        `coding`: the answer's `content_coding`, None when it has none;
        `coded`: what `read_back` found in If-None-Match.
        """
        if coding in self.codings:
            return encoded_etag(etag.decode("latin-1"), coding).encode("latin-1")
        if status == 304 and coded:
            return not_modified_etag(etag.decode("latin-1"), coded).encode("latin-1")
        return etag


def content_coding(value: bytes) -> str:
    """A Content-Encoding field's value as `CodedETags.answer_etag` takes it."""
    return value.decode("latin-1").strip(" \t").lower()


def vary_field(vary: list[str]) -> tuple[bytes, bytes]:
    """The Vary field of an answer whose own Vary lines were `vary`: Accept-Encoding added."""
    return _VARY if not vary else (b"vary", vary_with(vary).encode("latin-1"))


class CodedETagMiddleware:
    """Pure ASGI middleware around a compressing one: a coded answer's own ETag, read back."""

    def __init__(self, app: ASGIApp, *, codings: Collection[str] = ("gzip",)) -> None:
        self.app = app
        self.tags = CodedETags(codings)

    @property
    def codings(self) -> frozenset[str]:
        return self.tags.codings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope, coded = self.tags.read_back(scope)

        async def retag(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = self.tags.answer_fields(
                    message["status"], message.get("headers", ()), coded
                )
            await send(message)

        await self.app(scope, receive, retag)
