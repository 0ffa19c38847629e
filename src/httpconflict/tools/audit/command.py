"""The ``audit`` subcommand's options; argparse only, so ``httpconflict --help`` stays fast."""

from __future__ import annotations

import argparse
from typing import Any

from .._arguments import output_file, seconds, whole_number
from .settings import WRITE_METHODS

DESCRIPTION = """\
Audit a live JSON API's conflict handling from outside. Give the URL of a
collection (POST there creates a resource; a redirect that only adds or
drops its trailing slash is followed). The audit creates its own test
resources and checks ETags, 304, writes and DELETEs naming a stale version
or none, a lost-update race of careful clients writing a pure counter,
duplicate POSTs with and without an Idempotency-Key, a duplicate unique
value (with --unique) and problem+json error bodies, then deletes what it
created, even when it stops early. A version is named as the API takes it:
If-Match with its ETag, and the body's version member (CouchDB's _rev,
django-concurrency's version) when a write shows one. Any 5xx answer fails
its check. At most --max-requests requests, within --timeout seconds.
"""

EPILOG = """\
weights (score = 100 * sum(weight * credit) / sum(weight) over the checks that
ran; credit: pass 1, warn 0.5, fail 0): etag 5, not-modified 5, if-match 20,
precondition-required 10, delete 10, lost-update 25, idempotency-key 15,
unique 5, problem-json 5.

exit status: 0 no check failed, 1 a check failed, 2 bad usage,
3 the API could not be audited (unreachable, or no test resource could be made;
what it made is deleted all the same).
"""


def register(commands: argparse._SubParsersAction[Any]) -> None:
    """Add ``httpconflict audit``."""
    parser = commands.add_parser(
        "audit",
        help="audit a live JSON API: ETags, stale writes and DELETEs, 428, lost updates, "
        "idempotency keys",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "url", metavar="URL", help="collection URL, e.g. http://127.0.0.1:8000/v1/notes"
    )
    what = parser.add_argument_group("what to create")
    what.add_argument(
        "--body",
        metavar="JSON|@FILE",
        help='body template of the test resources; "{uid}" in a string becomes a unique '
        'token (default: {"title": "httpconflict audit {uid}"})',
    )
    what.add_argument(
        "--unique",
        action="append",
        default=[],
        metavar="FIELD",
        help="a field the API keeps unique (repeatable); enables the duplicate-value check",
    )
    what.add_argument(
        "--id-field",
        default="id",
        metavar="NAME",
        help="member of the POST answer naming the new item, when there is no Location "
        "(default: id)",
    )
    what.add_argument(
        "--envelope",
        metavar="NAME",
        help="member of each answer that holds the resource (CTFd: data, the RealWorld spec: "
        'article); a --body given wrapped in it ({"article": {...}}) wraps every request '
        "too (default: the answer is the resource, or the one member holding its --id-field)",
    )
    what.add_argument(
        "--counter",
        default="audit_count",
        metavar="FIELD",
        help="whole-number field the race increments and the write checks change; a string "
        'field given as "0" in --body counts in decimal strings (default: audit_count)',
    )
    what.add_argument(
        "--write-method",
        choices=WRITE_METHODS,
        default="PUT",
        help="how to change an item: PUT the whole object, PATCH a JSON merge patch, or POST "
        "the whole object to the item's URL (flask-restful APIs such as Redash) "
        "(default: PUT)",
    )
    what.add_argument(
        "--header",
        action="append",
        default=[],
        metavar="'NAME: VALUE'",
        help="header sent with every request, e.g. authorization (repeatable)",
    )
    bounds = parser.add_argument_group("bounds")
    bounds.add_argument(
        "--max-requests",
        type=whole_number(30, 100_000),
        default=400,
        metavar="N",
        help="requests in all, cleanup included (default: 400)",
    )
    bounds.add_argument(
        "--timeout",
        type=seconds(most=3600),
        default=30.0,
        metavar="SECONDS",
        help="time for the checks; cleanup may take 5 s more (default: 30)",
    )
    bounds.add_argument(
        "--request-timeout",
        type=seconds(most=3600),
        default=5.0,
        metavar="SECONDS",
        help="time for one request (default: 5)",
    )
    bounds.add_argument(
        "--writers",
        type=whole_number(2, 64),
        default=8,
        metavar="N",
        help="concurrent clients in the lost-update race (default: 8)",
    )
    bounds.add_argument(
        "--rounds",
        type=whole_number(1, 100),
        default=6,
        metavar="N",
        help="read-modify-write attempts per race client (default: 6)",
    )
    bounds.add_argument(
        "--duplicates",
        type=whole_number(2, 20),
        default=3,
        metavar="N",
        help="identical POSTs sent with, then without, an Idempotency-Key (default: 3)",
    )
    out = parser.add_argument_group("output")
    out.add_argument("--json", action="store_true", help="print the report as JSON")
    out.add_argument(
        "--html", type=output_file, metavar="FILE", help="also write a self-contained HTML report"
    )
    out.add_argument(
        "--keep", action="store_true", help="leave the test resources (default: delete them)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from .main import main

    return main(args)
