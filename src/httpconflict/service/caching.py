"""How caches may keep the service's answers, and the 304 of a conditional GET, in one place.

| answer                                         | Cache-Control     | validator        |
|------------------------------------------------|-------------------|------------------|
| a document                                     | no-cache          | ETag, Last-Mod.  |
| a page of a collection, of a history           | no-cache          | weak ETag        |
| either, to a request with Authorization        | private, no-cache | the same         |
| /openapi.json, the editor (/, /editor/*)       | no-cache          | ETag             |
| a problem type's page (/problems/{type})       | max-age=86400     | ETag             |
| the editor's icon (/favicon.ico, its SVG)      | max-age=86400     | ETag             |
| anything else (/healthz, problems, writes)     | no-store          | none             |

``no-cache`` lets a cache keep an answer but not use it before asking
whether it is still current (a conditional GET, answered 304 while it is):
another writer may change a document at any moment, and a new version of
the service changes its OpenAPI document and editor. An answer to a
caller that authenticated is that caller's (access rules decide what each
may read), so no shared cache keeps it. A problem type's page is text that
changes only with the service's version: a day is fresh enough, and so
is it for an icon (a stale one misleads nobody). The rest
describes one moment (a health check, a refusal) and is kept by no one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from starlette.requests import Request
from starlette.responses import Response

from .. import ReadOutcome, read_decision
from .requests import condition_fields

#: The answers every client revalidates: the OpenAPI document, the editor's files.
REVALIDATE: Final = "no-cache"
#: A problem type's page.
PROBLEM_TYPE_PAGE: Final = "max-age=86400"
#: The editor's icon.
ICON: Final = "max-age=86400"
#: What nothing else set: kept by no cache.
NO_STORE: Final = "no-store"
_PRIVATE: Final = "private, no-cache"
#: The field an answer gets that says nothing of caching (`answer_fields.AnswerFields`).
DEFAULT_FIELD: Final = (b"cache-control", NO_STORE.encode())


def for_caller(request: Request) -> str:
    """Cache-Control for a document, a page or a history, as `request` asked for it."""
    return _PRIVATE if "authorization" in request.headers else REVALIDATE


def not_modified(request: Request, fields: Mapping[str, str]) -> Response | None:
    """The 304 when the request's preconditions say the client has this answer.

    `fields` are the header fields of the full answer (its validators among
    them). None: send the full answer. A failed If-Match is raised as a 412
    problem, a malformed precondition as a 400, as the core decides.
    """
    decided = read_decision(request.method, condition_fields(request), fields.items())
    if decided.outcome is ReadOutcome.NOT_MODIFIED:
        return Response(status_code=304, headers=dict(decided.fields))
    if decided.error is not None:
        raise decided.error
    return None
