"""Log files as a stream of text lines: plain or gzip, a path or ``-`` for stdin.

Gzip is recognised by its magic bytes, not by the file's name, so a
rotated ``access.log.1.gz`` and a gzip stream piped to stdin both work.
Lines are read one at a time and decoded as UTF-8 with replacement (logs
hold whatever clients sent). A line longer than `MAX_LINE` is not kept in
memory: its first `MAX_LINE` bytes are yielded and the rest skipped, so
one runaway line cannot exhaust memory; it will not parse, and is counted
with the unrecognised lines.

Opening or reading may fail (no such file, permission, a truncated or
corrupt gzip stream): `read_lines` lets the error (`UNREADABLE`) through
after the lines it read, and the caller reports it.
"""

from __future__ import annotations

import gzip
import io
import sys
import zlib
from collections.abc import Iterator
from contextlib import ExitStack
from typing import IO, Final

#: The longest line kept, in bytes; access lines are far shorter.
MAX_LINE: Final = 64 * 1024
#: Errors that mean a source cannot be read (to the end).
UNREADABLE: Final = (OSError, EOFError, zlib.error)
STDIN: Final = "-"
_GZIP_MAGIC: Final = b"\x1f\x8b"


def source_name(source: str) -> str:
    """How a source is named in reports."""
    return "<stdin>" if source == STDIN else source


def _lines(stream: IO[bytes] | gzip.GzipFile) -> Iterator[str]:
    head = stream.peek(MAX_LINE)[:MAX_LINE] if hasattr(stream, "peek") else b""
    if b"\r" in head and b"\n" not in head:
        # Lines ended by CR alone (a classic Mac editor, some appliances): read as
        # one line of everything, the file was 1 request and no conflict.
        lines: Iterator[str] = _cr_lines(stream)
    else:
        lines = _lf_lines(stream)
    first = next(lines, None)
    if first is None:
        return
    yield first.removeprefix("\ufeff")  # a byte order mark is no part of the first line
    yield from lines


def _lf_lines(stream: IO[bytes] | gzip.GzipFile) -> Iterator[str]:
    while raw := stream.readline(MAX_LINE):
        if len(raw) == MAX_LINE and not raw.endswith(b"\n"):
            while (rest := stream.readline(MAX_LINE)) and not rest.endswith(b"\n"):
                pass  # the rest of an over-long line
        yield raw.decode("utf-8", "replace").rstrip("\r\n")


def _cr_lines(stream: IO[bytes] | gzip.GzipFile) -> Iterator[str]:
    text = io.TextIOWrapper(stream, encoding="utf-8", errors="replace", newline=None)
    try:
        while line := text.readline(MAX_LINE):
            if len(line) == MAX_LINE and not line.endswith("\n"):
                while (rest := text.readline(MAX_LINE)) and not rest.endswith("\n"):
                    pass
            yield line.rstrip("\n")
    finally:
        text.detach()  # the stream is its opener's to close


def read_lines(source: str) -> Iterator[str]:
    """The lines of a file (or of stdin for ``-``), gunzipped if it is gzip."""
    with ExitStack() as stack:
        binary: IO[bytes] = (
            sys.stdin.buffer if source == STDIN else stack.enter_context(open(source, "rb"))
        )
        if isinstance(binary, io.BufferedReader) and binary.peek(2)[:2] == _GZIP_MAGIC:
            yield from _lines(stack.enter_context(gzip.GzipFile(fileobj=binary, mode="rb")))
        else:
            yield from _lines(binary)
