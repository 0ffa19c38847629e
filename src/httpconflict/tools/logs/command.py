"""The ``logs`` subcommand's arguments; the work is in `run`, imported when it runs."""

from __future__ import annotations

import argparse
from typing import Any

from ...extras import require
from .._arguments import argparse_error, output_file, positive_number, whole_number

DESCRIPTION = """\
Count the 409, 412 and 428 answers in access logs by route (ids collapsed
to {id}), method, client, cause (the problem type, where the server logged
it, as httpconflict serve does) and time; find spikes.

Reads nginx/Apache/gunicorn/Traefik combined lines, uvicorn access lines,
Django's server messages (in any logging format), AWS ALB, HAProxy,
Heroku router (logfmt) and IIS (W3C) lines, our service's text and
JSON access logs and generic JSON lines (Caddy, Traefik, Google Cloud),
detecting the format line by line, inside docker's JSON wrapper or behind
a kubectl, syslog or journald prefix too; gzip files and - for stdin too.

Times are shown in the log's own zone (an nginx line's +0200), and say so.

A spike is a bucket where one status has at least --spike-min answers,
more than --spike-factor times its baseline (the largest of the median
bucket, the mean of the buckets that are not spikes, and one per log),
and a count so high that fewer than 0.01 buckets of the log would reach
it by chance at the baseline rate (Poisson). Each spike names its top
routes and clients.

Exit status: 0 done, 1 a spike was found (with --fail-on-spike), 2 bad
usage, 3 a file could not be read (or the chart or page not written)."""


def _duration(text: str) -> int:
    from .buckets import parse_duration

    try:
        return parse_duration(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _png(_: str) -> str:
    raise argparse_error(
        "logs draws its chart as SVG now, with no plotting library: use --svg FILE "
        "(opens in any browser), or --html FILE for the whole report with its chart"
    )


def _run(args: argparse.Namespace) -> int:
    # Said before any log is read, not after (its terminal report needs rich).
    require("rich", extra="tools", user="httpconflict logs")
    from .run import run

    return run(args)


def register(commands: argparse._SubParsersAction[Any]) -> None:
    """Add ``httpconflict logs``."""
    parser = commands.add_parser(
        "logs",
        help="where do the 409s come from: count conflicts in access logs",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "files", nargs="+", metavar="FILE", help="access log, gzip or not; - for stdin"
    )
    parser.add_argument(
        "--format",
        default="auto",
        choices=(
            "auto",
            "service",
            "combined",
            "nginx",
            "apache",
            "gunicorn",
            "uvicorn",
            "django",
            "alb",
            "haproxy",
            "logfmt",
            "heroku",
            "w3c",
            "iis",
            "json",
        ),
        help="read every line in this format (default: auto, detected per line)",
    )
    parser.add_argument(
        "--bucket",
        type=_duration,
        metavar="DURATION",
        help="time bucket: 30s, 5m, 1h, 1d (default: from the time span, at most ~100 buckets)",
    )
    parser.add_argument(
        "--top", type=whole_number(1), default=10, metavar="N", help="rows per table (default: 10)"
    )
    parser.add_argument(
        "--spike-factor",
        type=positive_number,
        default=3.0,
        metavar="K",
        help="a spike is more than K times the baseline bucket (default: 3)",
    )
    parser.add_argument(
        "--spike-min",
        type=whole_number(1),
        default=5,
        metavar="N",
        help="and at least N answers of its status (default: 5)",
    )
    parser.add_argument(
        "--fail-on-spike", action="store_true", help="exit 1 when a spike is found (for CI)"
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--svg", type=output_file, metavar="FILE", help="write the chart over time as SVG"
    )
    parser.add_argument(
        "--html", type=output_file, metavar="FILE", help="write a self-contained HTML report"
    )
    # Gone with matplotlib; kept to say what replaced it.
    parser.add_argument("--png", type=_png, help=argparse.SUPPRESS)
    parser.set_defaults(run=_run)
