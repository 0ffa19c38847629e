"""``httpconflict diagnose``: read the input, diagnose it, show the answer.

Exit codes (tools/_output.py): 0 recognised, 1 not recognised, 3 when
the input or the ``--html`` file cannot be read or written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .._output import FAILED, FOUND, OK, console, print_json
from .knowledge import knowledge_base
from .matching import diagnose
from .page import diagnosis_page, entry_document


def run(args: argparse.Namespace) -> int:
    if args.list:
        return _list(as_json=args.json)
    try:
        text = _read(args.file)
    except OSError as error:
        reason = error.strerror or str(error)
        print(f"httpconflict diagnose: cannot read {args.file}: {reason}", file=sys.stderr)
        if isinstance(error, FileNotFoundError):
            print(
                "(to diagnose a message, pipe it in: ... | httpconflict diagnose -)",
                file=sys.stderr,
            )
        return FAILED
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


def _read(name: str) -> str:
    """The input as text: a file, stdin for ``-`` (UTF-8, or UTF-16 with a BOM), or the message."""
    if name == "-":
        if sys.stdin.isatty():
            print(
                "Paste the error, then press Ctrl-D (Ctrl-Z then Enter on Windows):",
                file=sys.stderr,
            )
        data = sys.stdin.buffer.read()
    elif _is_a_message(name):
        return name
    else:
        data = Path(name).read_bytes()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", "replace")
    return data.decode("utf-8-sig", "replace")


def _is_a_message(argument: str) -> bool:
    """The argument is the error itself: it names no file, and has the spaces a message has.

    A mistyped path (no space) stays a file that cannot be read (exit 3), so
    a typo is not diagnosed as the text "eror.txt".
    """
    return any(c.isspace() for c in argument) and not Path(argument).exists()


def _list(*, as_json: bool) -> int:
    knowledge = knowledge_base()
    if as_json:
        print_json([entry_document(entry) for entry in knowledge.entries])
    else:
        from .terminal import render_list

        render_list(knowledge, console())
    return OK
