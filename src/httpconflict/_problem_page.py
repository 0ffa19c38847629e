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

Which answers become a page is decided here for every adapter: the
request (`answers_page`), the answer's start (`is_page_problem`: the
adapter holds such an answer's body), then the whole answer
(`page_answer`). A HEAD (whose Content-Length is the JSON's, and which
has no body to read the problem from), an answer with no body (204,
304), one coded otherwise than by gzip or deflate, or one past
`MAX_PROBLEM` bytes (as sent or decoded) goes out as it came. The page's
answer keeps the problem's status and fields (Retry-After among them),
with the page's own Content-Type and Content-Length, no Content-Encoding
(a compression middleware inside made the problem gzip: the page is
sent as is), and ``Vary: Accept``: a cache must not give the page to an
API client, whose answer is JSON. Every other client's answer that would
be a page for a browser (an API client's problem JSON, a HEAD's, one sent
as it came) says ``Vary: Accept`` too (`paged_fields`): a cache must not
give that JSON to a browser either.
"""

from __future__ import annotations

import json
import zlib
from html import escape
from typing import Final

from ._problem import MEDIA_TYPE, PROBLEM_TYPE_BASE

__all__ = [
    "HTML",
    "MAX_PROBLEM",
    "PAGES_KEY",
    "answers_page",
    "is_page_problem",
    "negotiated_answer",
    "page_answer",
    "page_fields",
    "paged_fields",
    "prefers_html",
    "problem_page",
    "varying",
]

HTML: Final = "text/html; charset=utf-8"
#: In the ASGI scope or WSGI environ of a request an adapter making pages saw: whether its
#: problems go out as pages (`answers_page`). A problem made apart from it (a framework's
#: 500) is then as it would make it: the page, or the problem with ``Vary: Accept``.
PAGES_KEY: Final = "httpconflict.pages"
#: Bytes of a problem body held to be made a page; a larger one goes out as it is.
MAX_PROBLEM: Final = 64 * 1024
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
    "precondition-failed": (
        "Nothing was saved: someone changed it after you opened the form. Go back, "
        "reload the form to see what is stored now, and make your change again."
    ),
    "precondition-required": (
        "Nothing was saved: the form did not say which version you edited. Open the form "
        "again, and make your change there."
    ),
    "idempotency-key-reused": (
        "Nothing was saved: this form was sent before with other contents. Open the form "
        "again, and make your change there."
    ),
}
#: A person's title for problem types whose title and detail speak to a program (send
#: If-Match, retry with the key): their page shows this and the advice, not the detail.
_TITLES: Final = {
    "precondition-failed": "This was changed since you opened it",
    "precondition-required": "The form did not say which version it edits",
    "idempotency-key-in-flight": "This form is still being saved",
    "idempotency-key-reused": "This form was sent before with other contents",
    # Its detail is for whoever reads the log, in an API's words (an Idempotency-Key
    # released); the advice and the incident are the person's.
    "internal-error": "Something went wrong on the server",
}
#: Answers that have no body (RFC 9110 §6.4.1): nothing to turn into a page.
_BODILESS: Final = frozenset({204, 304})
#: The codings a problem is read from, as zlib's wbits (0: none). RFC 9110 §8.4.1: "gzip"
#: (and "x-gzip", its alias) is the gzip format; "deflate" the zlib format.
_CODINGS: Final = {
    "": 0,
    "gzip": 16 + zlib.MAX_WBITS,
    "x-gzip": 16 + zlib.MAX_WBITS,
    "deflate": zlib.MAX_WBITS,
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


def answers_page(method: str, accept: list[str]) -> bool:
    """Whether a request's problem answer is sent as a page: HTML preferred, not a HEAD."""
    return method != "HEAD" and prefers_html(accept)


def is_page_problem(status: int, fields: list[tuple[str, str]]) -> bool:
    """Whether an answer (`status`, header `fields`) is a problem a page may replace.

    An error status with a body of ``application/problem+json``, as is or
    coded by one coding a page can read it from (gzip, deflate: a
    compression middleware inside the one making pages); a 2xx, 204, 304,
    or a problem coded otherwise (br, two codings) goes out as it is.
    """
    if status < 400 or status in _BODILESS:
        return False
    media = ""
    for name, value in fields:
        if name.lower() == "content-type":
            media = value.partition(";")[0].strip().lower()
    return media == MEDIA_TYPE and _coding(fields) in _CODINGS


def paged_fields(status: int, fields: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """An answer's `fields` where problems are made pages, for any request (an API's, a HEAD).

    A problem a browser would get as a page says ``Vary: Accept`` to every
    client: the JSON an API client gets is "tailored" to its Accept too
    (RFC 9110 §12.5.5), and a shared cache that kept it without the Vary
    would give it to the next browser, or the page to the next API client.
    Any other answer is the same whatever Accept says: its fields as they are.
    """
    return varying(fields) if is_page_problem(status, fields) else fields


def page_answer(
    status: int, fields: list[tuple[str, str]], body: bytes
) -> tuple[list[tuple[str, str]], bytes] | None:
    """The fields and bytes of the page of a whole problem answer; None: send it as it came.

    None when the body passes `MAX_PROBLEM` bytes, as sent or decoded (a
    small gzip body may decode to gigabytes), or does not decode.
    """
    if len(body) > MAX_PROBLEM:
        return None
    wbits = _CODINGS.get(_coding(fields))
    if wbits is None:
        return None
    if wbits:
        decoder = zlib.decompressobj(wbits)
        try:
            body = decoder.decompress(body, MAX_PROBLEM + 1)
        except zlib.error:
            return None
        if not decoder.eof or len(body) > MAX_PROBLEM:
            return None
    page = problem_page(body, status)
    return page_fields(fields, len(page)), page


def negotiated_answer(
    pages: bool | None, status: int, fields: list[tuple[str, str]], body: bytes
) -> tuple[list[tuple[str, str]], bytes]:
    """The fields and bytes of a whole problem answer made apart from the one making pages.

    `pages`: what `answers_page` said of the request, where pages are made
    (None: they are not, and the problem goes out as it is). The page, when
    the core makes one; otherwise the problem with Accept in its Vary.
    """
    if pages is None:
        return fields, body
    if pages and is_page_problem(status, fields):
        answer = page_answer(status, fields, body)
        if answer is not None:
            return answer
    return varying(fields), body


def _coding(fields: list[tuple[str, str]]) -> str:
    """The content coding of an answer's `fields` ("" for none; several: joined, unknown)."""
    codings = [
        part.strip().lower()
        for name, value in fields
        if name.lower() == "content-encoding"
        for part in value.split(",")
        if part.strip().lower() not in ("", "identity")
    ]
    return ", ".join(codings)


def page_fields(fields: list[tuple[str, str]], length: int) -> list[tuple[str, str]]:
    """A problem answer's `fields` for its page of `length` bytes.

    Every field stays (Retry-After, Location, Set-Cookie) but the body's own
    (its type, length and coding), and Vary names Accept: the answer
    depends on it now.
    """
    body = ("content-type", "content-length", "content-encoding")
    kept = [(n, v) for n, v in fields if n.lower() not in body]
    *others, vary = varying(kept)
    return [*others, ("Content-Type", HTML), ("Content-Length", str(length)), vary]


def varying(fields: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """`fields` with Accept in their Vary: the answer is a page or JSON by the request's Accept.

    RFC 9110 §12.5.5: Vary names the request fields an answer was "tailored to
    better fit"; the problem JSON an API client gets where a browser gets a
    page is such an answer too, so that no cache gives it to the browser.
    """
    vary = [v for n, v in fields if n.lower() == "vary"]
    kept = [(n, v) for n, v in fields if n.lower() != "vary"]
    names = [part.strip() for line in vary for part in line.split(",") if part.strip()]
    if "*" not in names and "accept" not in (n.lower() for n in names):
        names.append("Accept")
    return [*kept, ("Vary", ", ".join(names))]  # last


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
    title = _TITLES.get(slug) or str(problem.get("title") or f"The request failed ({status})")
    lines = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(title)}</title></head><body>",
        f'<h1 class="problem-title">{escape(title)}</h1>',
    ]
    detail = problem.get("detail")
    if isinstance(detail, str) and detail and slug not in _TITLES:
        lines.append(f'<p class="problem-detail">{escape(_sentence(detail))}</p>')
    lines.append(f'<p class="problem-advice">{escape(advice.format(wait=wait))}</p>')
    incident = problem.get("incident")
    if isinstance(incident, str) and incident:
        lines.append(f"<p>If you report this, quote incident {escape(incident)}.</p>")
    if kind.startswith(("https://", "http://")):
        lines.append(f'<p><a href="{escape(kind)}">About this error</a> ({status})</p>')
    lines.append("</body></html>\n")
    return "\n".join(lines).encode("utf-8")
