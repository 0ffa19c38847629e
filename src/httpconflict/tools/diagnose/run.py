"""``httpconflict diagnose``: read the input, diagnose it, show the answer.

Exit codes (tools/_output.py): 0 recognised, 1 not recognised, 3 when
the input or the ``--html`` file cannot be read or written.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import deque
from pathlib import Path
from typing import BinaryIO, Final

from .._output import FAILED, FOUND, OK, console, print_json
from .knowledge import knowledge_base
from .matching import diagnose
from .page import diagnosis_page, entry_document

MiB: Final = 1 << 20
#: Of a longer input, the first HEAD and the last TAIL bytes are read (a CI log
#: ends with its failure); memory stays some times this, whatever the input.
HEAD: Final = 8 * MiB
TAIL: Final = 56 * MiB
_CHUNK: Final = MiB
#: A character of two to four bytes in UTF-8.
_UTF8_SEQUENCE: Final = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)


def run(args: argparse.Namespace) -> int:
    if args.list:
        return _list(as_json=args.json)
    try:
        text, skipped = _read(args.file)
    except OSError as error:
        reason = error.strerror or str(error)
        print(f"httpconflict diagnose: cannot read {args.file}: {reason}", file=sys.stderr)
        if isinstance(error, FileNotFoundError):
            print(
                "(to diagnose a message, pipe it in: ... | httpconflict diagnose -)",
                file=sys.stderr,
            )
        return FAILED
    if skipped is not None:
        print(f"httpconflict diagnose: {skipped}", file=sys.stderr)
    diagnosis = diagnose(text)
    if args.html is not None:
        try:
            Path(args.html).write_text(diagnosis_page(diagnosis), encoding="utf-8")
        except OSError as error:
            reason = error.strerror or str(error)
            print(f"httpconflict diagnose: cannot write {args.html}: {reason}", file=sys.stderr)
            return FAILED
    if args.json:
        print_json(diagnosis.to_dict())
    else:
        from .terminal import render

        render(diagnosis, console())
    if args.html is not None:
        print(f"httpconflict diagnose: wrote {args.html}", file=sys.stderr)
    return OK if diagnosis.best is not None else FOUND


def _read(name: str) -> tuple[str, str | None]:
    """The input as text (a file, stdin for ``-``, or the message), and what was skipped of it.

    Files and stdin are UTF-8 (undecodable bytes replaced), or UTF-16 with a BOM.
    """
    if name == "-":
        if sys.stdin.isatty():
            print(
                "Paste the error, then press Ctrl-D (Ctrl-Z then Enter on Windows):",
                file=sys.stderr,
            )
        data, skipped = capped(sys.stdin.buffer)
    elif _is_a_message(name):
        return name, None
    else:
        with Path(name).open("rb") as stream:
            data, skipped = head_and_tail(stream)
    if not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        data, binary = text_of(data)
        if binary is not None:
            skipped = binary if skipped is None else f"{skipped}; {binary}"
    return decoded(data), skipped


#: Of an input's first bytes, the share of control bytes (NUL and C0 but tab, line ends,
#: form feed and ESC, which logs hold) past which it is binary: text has next to none.
BINARY_SHARE: Final = 0.05
_SAMPLE: Final = 64 * 1024
_CONTROL: Final = re.compile(rb"[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f]")
#: A run of text in binary data: 4 or more printable ASCII or UTF-8 characters (and line ends).
_TEXT_RUN: Final = re.compile(
    rb"(?:[\t\n\r\x20-\x7e]|[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}"
    rb"|[\xf0-\xf4][\x80-\xbf]{3}){4,}"
)


def text_of(data: bytes) -> tuple[bytes, str | None]:
    """`data`, or of binary data (a core dump, an image, UTF-16 without a BOM) its text.

    UTF-16 without a BOM (every other byte NUL) is re-encoded as UTF-8;
    other binary data is reduced to its runs of text (as ``strings``
    does), so an error message among the bytes is still read, while the
    bytes themselves are not decoded and matched (20 MB of random bytes
    took 513 MB and 9.5 s that way). With a sentence saying so.
    """
    sample = data[:_SAMPLE]
    if not sample or len(_CONTROL.findall(sample)) < BINARY_SHARE * len(sample):
        return _as_spaces(data), None
    for offset, codec in ((1, "utf-16-le"), (0, "utf-16-be")):
        nuls = sample[offset::2].count(0)
        if nuls > 0.9 * (len(sample) // 2) and sample[1 - offset :: 2].count(0) == 0:
            return data.decode(codec, "replace").encode(), f"the input is {codec.upper()} text"
    in_runs = sum(len(match.group()) for match in _TEXT_RUN.finditer(sample))
    if in_runs >= TEXT_SHARE * len(sample):
        # Text with a few control bytes in it (a BEL or a NUL a terminal or a logger let
        # through): the bytes are spaces, so the phrases around them are read whole.
        return _as_spaces(data), None
    runs = b"\n".join(match.group() for match in _TEXT_RUN.finditer(data))
    note = (
        f"the input looks binary (control bytes in its first {size(len(sample))}): "
        f"read only its runs of text, {size(len(runs))} of {size(len(data))}"
    )
    return runs, note


#: Of text, runs of text cover nearly all of a sample; of binary data (random bytes, a core
#: dump) a small part.
TEXT_SHARE: Final = 0.8
#: A control byte (and ESC that starts no escape sequence) read as a space: same length.
_LONE_CONTROL: Final = re.compile(rb"[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f]|\x1b(?![\[\]])")


def _as_spaces(data: bytes) -> bytes:
    """`data` with its control bytes as spaces (tabs, line ends, form feeds and the ESC of a
    colour code kept)."""
    return _LONE_CONTROL.sub(b" ", data) if _LONE_CONTROL.search(data) else data


def size(count: int) -> str:
    """`count` bytes, said in bytes, KiB or MiB, whichever reads best."""
    if count < 1024:
        return f"{count:,} bytes"
    if count < MiB:
        return f"{count / 1024:.1f} KiB"
    return f"{count / MiB:.1f} MiB"


def decoded(data: bytes) -> str:
    """The text of `data`: UTF-16 with a BOM, UTF-8, or a legacy 8-bit one (Windows-1252).

    Bytes that are not UTF-8 and hold no UTF-8 sequence at all come from an
    8-bit code page (a server's message in Latin-1: "Verletzung der
    UNIQUE KEY-Einschr\xe4nkung"), read as Windows-1252, which Latin-1's
    letters share; so is each such line of a UTF-8 text; otherwise
    undecodable bytes are replaced.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", "replace")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    if _UTF8_SEQUENCE.search(data) is None:
        return data.decode("cp1252", "replace")
    # UTF-8 with lines of another encoding (a server's Latin-1 message in a UTF-8 log):
    # each line that is no UTF-8 and holds no UTF-8 sequence is read as Windows-1252.
    return "\n".join(
        _decoded_line(line) for line in data.removeprefix(b"\xef\xbb\xbf").split(b"\n")
    )


def _decoded_line(line: bytes) -> str:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        if _UTF8_SEQUENCE.search(line) is None:
            return line.decode("cp1252", "replace")
        return line.decode("utf-8", "replace")


def capped(stream: BinaryIO, cap: int = HEAD + TAIL) -> tuple[bytes, str | None]:
    """The first `cap` bytes of a stream that may not end (``tail -f log | ...``, ``yes``),
    with a sentence when it had more: a pipe is read up to the limit a file is, no further,
    and answered from what was read."""
    data = stream.read(cap)
    if len(data) < cap or not stream.read(1):
        return data, None
    # A line cut in two at the limit is not read as half of itself.
    end = data.rfind(b"\n") + 1 or len(data)
    note = (
        f"stopped reading the input after {size(cap)} (it had not ended): "
        f"read its first {size(end)}, the rest was not read"
    )
    return data[:end], note


def head_and_tail(
    stream: BinaryIO, head_size: int = HEAD, tail_size: int = TAIL
) -> tuple[bytes, str | None]:
    """All of `stream`, or of a longer one its first `head_size` and last `tail_size` bytes
    (read in chunks: memory stays bounded), with a sentence saying which lines were skipped."""
    head = stream.read(head_size)
    tail: deque[bytes] = deque()
    kept = skipped = skipped_lines = 0
    chunk_size = max(1, min(_CHUNK, tail_size // 4))
    while chunk := stream.read(chunk_size):
        tail.append(chunk)
        kept += len(chunk)
        while kept - len(tail[0]) >= tail_size:
            dropped = tail.popleft()
            kept -= len(dropped)
            skipped += len(dropped)
            skipped_lines += dropped.count(b"\n")
    if not skipped:
        return head + b"".join(tail), None
    first = head.count(b"\n") + 1
    data = head + b"\n" + b"".join(tail)
    total = len(head) + skipped + kept
    note = (
        f"the input is {total / MiB:.1f} MiB: read its first {len(head) / MiB:.1f} MiB and "
        f"its last {kept / MiB:.1f} MiB; skipped {skipped / MiB:.1f} MiB between them, lines "
        f"{first:,} to {first + skipped_lines:,} (to diagnose those, pass that part alone)"
    )
    return data, note


def _is_a_message(argument: str) -> bool:
    """The argument is the error itself: it names no file, and has the spaces a message has.

    A mistyped path (no space) stays a file that cannot be read (exit 3), so
    a typo is not diagnosed as the text "eror.txt".
    """
    if not any(c.isspace() for c in argument):
        return False
    try:
        return not Path(argument).exists()
    except (OSError, ValueError):  # too long to name a file, or a NUL in it: a message
        return True


def _list(*, as_json: bool) -> int:
    knowledge = knowledge_base()
    if as_json:
        print_json([entry_document(entry) for entry in knowledge.entries])
    else:
        from .terminal import render_list

        render_list(knowledge, console())
    return OK
