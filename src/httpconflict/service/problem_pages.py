"""The problem type pages: GET /problems/{slug}, what a problem means and how to fix it.

httpconflict's problem type URIs are ``https://httpconflict.dev/problems/<slug>``;
the service serves the same path, so the type of any problem it answers
resolves on the service itself. The pages come from the knowledge base
of ``httpconflict diagnose`` (one source for both, itself made from
`_problem.PROBLEM_TYPES`): HTML with the fix steps as schema.org HowTo
JSON-LD, or JSON when the client prefers application/json. They are
static, so each has a strong ETag, and conditional requests are answered
as the core's `read_decision` decides (304 for a matching If-None-Match).
An unknown slug is a 404 not-found problem.
"""

from __future__ import annotations

import json
from typing import Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import ETag, NotFound
from .caching import PROBLEM_TYPE_PAGE, not_modified

PROBLEM_PAGE: Final = "/problems/{slug}"
HTML: Final = "text/html; charset=utf-8"
JSON: Final = "application/json"


async def problem_page(request: Request) -> Response:
    """GET (and HEAD): the page of one of httpconflict's problem types."""
    # Imported on the first page asked for, not by every worker as it starts:
    # diagnose's modules are about a tenth of a worker's import time.
    from ..tools.diagnose.knowledge import knowledge_base
    from ..tools.diagnose.page import entry_document, entry_page

    slug = request.path_params["slug"]
    entry = knowledge_base().for_problem_type(slug)
    if entry is None:
        raise NotFound(f"no problem type {slug!r} (the Problem schema of /openapi.json lists them)")
    if prefers_json(request.headers.get("accept", "")):
        body = json.dumps(entry_document(entry), ensure_ascii=False).encode()
        media_type = JSON
    else:
        body = entry_page(entry).encode()
        media_type = HTML
    etag = ETag.from_content(body)
    headers = {"ETag": etag.to_header(), "Vary": "Accept", "Cache-Control": PROBLEM_TYPE_PAGE}
    if (answer := not_modified(request, headers)) is not None:
        return answer
    return Response(body, media_type=media_type, headers=headers)


def prefers_json(accept: str) -> bool:
    """Whether an Accept field ranks application/json above HTML (RFC 9110 §12.5.1).

    HTML is the default: a wildcard counts for it, and it wins a tie.
    """
    json_q = html_q = 0.0
    for element in accept.split(","):
        media, *params = (part.strip() for part in element.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        media = media.lower()
        if media in ("application/json", "application/*"):
            json_q = max(json_q, quality)
        elif media in ("text/html", "application/xhtml+xml", "text/*", "*/*"):
            html_q = max(html_q, quality)
    return json_q > html_q


ROUTES: Final = [Route(PROBLEM_PAGE, problem_page, methods=["GET"])]
