"""A problem answered to a browser: an HTML page saying what happened and what to do.

A form's Save is sent by a browser, which shows whatever comes back: an
``application/problem+json`` answer (the database restarting: 503; the
connection lost under the write: 504; the same click still running: 409)
is a page of raw JSON, in an API's words ("send the same request again
with its Idempotency-Key"), that a person cannot act on. A request whose
Accept ranks HTML above JSON is a browser's navigation (every browser
sends ``text/html,...,*/*;q=0.8`` for a page and a form's submission;
``fetch`` and HTTP libraries send ``*/*`` or name JSON), so it gets the
same status and fields as a page: the problem's title and detail, and
what to do in a browser's terms (reload to resend, open the form again).

The problem itself is what is recorded and replayed under a form's key
(its 504 decides that a resend is not run again); only the bytes sent to
the browser are this page.
"""

from __future__ import annotations

import json
from html import escape
from typing import Final

from ._problem import MEDIA_TYPE, PROBLEM_TYPE_BASE

__all__ = ["HTML", "prefers_html", "problem_page"]

HTML: Final = "text/html; charset=utf-8"
_HTML_TYPES: Final = frozenset({"text/html", "application/xhtml+xml"})
_JSON_TYPES: Final = frozenset({MEDIA_TYPE, "application/json"})

#: What a person at a browser does, by problem type (the slug after PROBLEM_TYPE_BASE).
_ADVICE: Final = {
    "unavailable": (
        "Nothing was saved. Wait {wait}, then reload this page: your browser offers to "
        "send the form again, and it is saved once."
    ),
    "contended": (
        "Nothing was saved. Wait {wait}, then reload this page: your browser offers to "
        "send the form again, and it is saved once."
    ),
    "outcome-unknown": (
        "Your change may or may not have been saved. Open the page again (not Reload) to "
        "see what is stored now, and save again only if your change is not there."
    ),
    "idempotency-key-in-flight": (
        "This form is still being saved, from an earlier click. Wait {wait}, then reload "
        "this page to see how that save ended: the form is saved once."
    ),
    "idempotency-key-unrecorded": (
        "Your change may or may not have been saved. Open the page again (not Reload) to "
        "see what is stored now, and save again only if your change is not there."
    ),
}
_CLIENT_ADVICE: Final = (
    "Nothing was saved. Go back, reload the form to get a fresh copy, and save again."
)
_SERVER_ADVICE: Final = (
    "Your change may or may not have been saved. Open the page again to see what is "
    "stored now before you save again."
)


def prefers_html(accept: list[str]) -> bool:
    """Whether an Accept field (its lines) ranks an HTML page above a JSON problem.

    HTML counts only when named (``text/html``, ``application/xhtml+xml``);
    JSON by its own names, else ``application/*``, else ``*/*``. A tie, or
    no Accept, is JSON: an API client never gets a page it did not ask for.
    """
    html = 0.0
    json_named = json_wild = json_any = -1.0
    for line in accept:
        for item in line.split(","):
            media, _, parameters = item.partition(";")
            media = media.strip().lower()
            quality = _quality(parameters)
            if media in _HTML_TYPES:
                html = max(html, quality)
            elif media in _JSON_TYPES:
                json_named = max(json_named, quality)
            elif media == "application/*":
                json_wild = max(json_wild, quality)
            elif media == "*/*":
                json_any = max(json_any, quality)
    json_q = next((q for q in (json_named, json_wild, json_any) if q >= 0), 0.0)
    return html > 0 and html > json_q


def _quality(parameters: str) -> float:
    """An Accept item's q (RFC 9110 §12.4.2: 0 to 1, 1 when absent); malformed: 0."""
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "q":
            try:
                found = float(value.strip())
            except ValueError:
                return 0.0
            return found if 0.0 <= found <= 1.0 else 0.0
    return 1.0


def _sentence(text: str) -> str:
    """`text` as a sentence: a capital first, a full stop last."""
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")


def problem_page(body: bytes, status: int) -> bytes:
    """The HTML page of a problem+json `body` answered with `status`."""
    try:
        found = json.loads(body)
    except ValueError:
        found = {}
    problem = found if isinstance(found, dict) else {}
    kind = str(problem.get("type") or "")
    slug = kind[len(PROBLEM_TYPE_BASE) :] if kind.startswith(PROBLEM_TYPE_BASE) else ""
    retry = problem.get("retry_after")
    seconds = retry if isinstance(retry, int) and not isinstance(retry, bool) and retry > 0 else 1
    wait = f"{seconds} second{'s' if seconds != 1 else ''}"
    advice = _ADVICE.get(slug, _CLIENT_ADVICE if status < 500 else _SERVER_ADVICE)
    title = str(problem.get("title") or f"The request failed ({status})")
    lines = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(title)}</title></head><body>",
        f'<h1 class="problem-title">{escape(title)}</h1>',
    ]
    detail = problem.get("detail")
    if isinstance(detail, str) and detail:
        lines.append(f'<p class="problem-detail">{escape(_sentence(detail))}</p>')
    lines.append(f'<p class="problem-advice">{escape(advice.format(wait=wait))}</p>')
    incident = problem.get("incident")
    if isinstance(incident, str) and incident:
        lines.append(f"<p>If you report this, quote incident {escape(incident)}.</p>")
    if kind.startswith(("https://", "http://")):
        lines.append(f'<p><a href="{escape(kind)}">About this error</a> ({status})</p>')
    lines.append("</body></html>\n")
    return "\n".join(lines).encode("utf-8")
