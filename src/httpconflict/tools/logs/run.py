"""`httpconflict logs` once its arguments are parsed: read, tally, report, exit code."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from .._output import FAILED, FOUND, OK, console, print_json
from .formats import LineParser
from .reading import UNREADABLE, read_lines, source_name
from .report import LogReport, Unreadable, build_report
from .spikes import SpikeRule
from .tally import SAMPLE_LENGTH, Tally
from .terminal import printable

#: Lines between progress updates, and the input size from which a bar is shown.
_STEP = 10_000
_BIG = 20_000_000


def _complain(message: str) -> None:
    print(f"httpconflict logs: {message}", file=sys.stderr)


def scan(
    source: str, parser: LineParser, tally: Tally, progress: Callable[[int], None] | None = None
) -> Unreadable | None:
    """Tally every line of one source; what went wrong if it could not be read to the end.

    A source with lines none of which is an access line in a format read
    is reported as not read too: its counts would be a silent zero.
    `progress`, if given, is told the characters read, every `_STEP` lines.
    """
    name = source_name(source)
    number = 0  # the last line read, for the message if reading fails
    read = 0
    recognised = blank = 0
    example: tuple[int, str] | None = None  # an unrecognised line to show, not a # comment
    try:
        for number, line in enumerate(read_lines(source), 1):
            if progress is not None:
                read += len(line) + 1
                if number % _STEP == 0:
                    progress(read)
                    read = 0
            if not line.strip():
                tally.add_blank()
                blank += 1
            elif (entry := parser.parse(line)) is not None:
                tally.add(entry)
                recognised += 1
            else:
                tally.add_unrecognised(name, number, line)
                if example is None or (example[1][:1] == "#" and line[:1] != "#"):
                    example = (number, line)
    except UNREADABLE as error:
        reason = str(error) or type(error).__name__
        if number:
            reason += f" (after line {number})"
        return Unreadable(name, reason)
    if recognised or example is None:
        return None
    where, text = example
    return Unreadable(
        name,
        f"none of its {number - blank} lines is an access line in a format logs reads "
        f"(line {where}: {text[:SAMPLE_LENGTH]})",
    )


@contextlib.contextmanager
def _progress_bar(sources: list[str]) -> Iterator[Callable[[int], None] | None]:
    """A progress bar on stderr for big files read at a terminal; None otherwise.

    Its total is the files' size: exact for plain text, an estimate for
    gzip (read counts characters once unpacked), unknown for stdin.
    """
    sizes = [os.path.getsize(s) if os.path.isfile(s) else None for s in sources]
    if not sys.stderr.isatty() or sum(size or 0 for size in sizes) < _BIG:
        yield None
        return
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    total = None if None in sizes else sum(size or 0 for size in sizes)
    columns = ("reading logs", BarColumn(), DownloadColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console(sys.stderr), transient=True) as bar:
        task = bar.add_task("read", total=total)
        yield lambda read: bar.advance(task, read)


def _write_outputs(report: LogReport, args: argparse.Namespace) -> bool:
    """Write --svg and --html; False (and a message) if one cannot be written."""
    if not (args.svg or args.html):
        return True
    from .chart import render_chart
    from .html_page import render_page

    chart = render_chart(report)
    try:
        if args.svg:
            Path(args.svg).write_text(chart, encoding="utf-8")
        if args.html:
            Path(args.html).write_text(render_page(report, chart, top=args.top), encoding="utf-8")
    except OSError as error:
        _complain(f"cannot write the chart or page: {error}")
        return False
    return True


def run(args: argparse.Namespace) -> int:
    """Run the command; the exit code (see `httpconflict.tools`)."""
    parser = LineParser(args.format)
    tally = Tally(args.bucket)
    unreadable: list[Unreadable] = []
    with _progress_bar(args.files) as progress:
        for source in args.files:
            if (failure := scan(source, parser, tally, progress)) is not None:
                _complain(f"cannot read {failure.source}: {printable(failure.reason)}")
                unreadable.append(failure)
    report = build_report(
        tally,
        sources=tuple(source_name(s) for s in args.files),
        bucket=args.bucket,
        rule=SpikeRule(factor=args.spike_factor, minimum=args.spike_min),
        unreadable=tuple(unreadable),
    )
    written = _write_outputs(report, args)
    if args.json:
        print_json(report.to_json())
    else:
        from .terminal import render

        render(report, console(), top=args.top)
    if unreadable or not written:
        return FAILED
    if args.fail_on_spike and report.spikes:
        return FOUND
    return OK
