"""Where a pasted input states an HTTP status, in the forms people paste.

Theory of operation. A status is read only from a form that states one:
a status line, a client library's error message, a code named as a
status ("status code 412", ``StatusCode=409``, ``"status": 409``), a code
beside its own reason phrase ("409 Conflict", "Conflict (409)"), or a
framework's standard text for it. A number that merely appears (room
409, line 409, ``uptime: 409``, "HTTP 409 in RFC 9110", "412 passed") is
not a status. The forms are a table of regexes, each linear in the
length of the input; `statuses` runs them all and returns what they
found, with the URLs some of them name.

A code and a phrase count together only when the phrase is that code's
own (`http.HTTPStatus`), and only when the phrase ends the statement
(end of line, punctuation, an arrow, "for url", "from server"): "the
409 Conflict response status code indicates" is prose about a status,
not one.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterator, Mapping
from http import HTTPStatus
from typing import Any, Final

from .literals import learn
from .subject import Subject

_CODE: Final = r"(?P<status>[1-5]\d\d)(?!\d)"
# Each status's own reason phrase, and the variants people's tools print.
_PHRASES: Final[dict[str, int]] = {
    status.phrase.lower(): status.value for status in HTTPStatus if 100 <= status.value <= 599
}
_PHRASES.update({"unprocessable content": 422, "content too large": 413, "locked": 423})
_PHRASE: Final = "|".join(
    "[ _]".join(re.escape(word) for word in phrase.split())
    for phrase in sorted(_PHRASES, key=len, reverse=True)
)
# What may follow a reason phrase for it to end a statement.
_ENDS: Final = (
    r"(?=\s*[:.,;)\]\"'`>|\-]|\s+(?:for|from|on|at|when|while|error)\b"
    # or the end of a line that no prose continues ("...Required\nasks the client").
    r"|[ \t]*$(?!\n[a-z])"
    # or a line break escaped in a repr or a JSON string ("409 Conflict\\nError: {").
    r"|(?:\\r)?\\n(?!(?-i:[a-z])))"
)

# Forms that name the status and, sometimes, the URL.
_FORMS: Final = tuple(
    re.compile(pattern, re.MULTILINE)
    for pattern in (
        # A status line anywhere: raw responses, curl -i/-v, wire logs ("<< HTTP/1.1 409").
        rf"\bHTTP/\d(?:\.\d)? {_CODE}\b",
        # An access log: "GET /x HTTP/1.1" 500 -
        rf"\"[A-Z]{{3,7}} \S+ HTTP/\d(?:\.\d)?\" {_CODE}\b",
        # requests: "409 Client Error: Conflict for url: https://..."
        rf"\b{_CODE} (?:Client|Server) Error: [^\n]*?(?: for url: (?P<url>\S+))?$",
        # docker-py: "409 Client Error for http+docker://localhost/...: Conflict"
        rf"\b{_CODE} (?:Client|Server) Error for (?P<url>\S+?): ",
        # httpx: "Client error '409 Conflict' for url 'https://...'"
        rf"(?:Client|Server) error '{_CODE}[^']*' for url '(?P<url>[^']+)'",
        # kubernetes-client: "ApiException: (409)"; elasticsearch-py: "ConflictError(409, '..."
        rf"ApiException: \({_CODE}\)",
        rf"\b\w+Error\({_CODE}, '",
        # Spring: "HttpClientErrorException$Conflict: 409 Conflict: ..."
        rf"\b(?:HttpClientErrorException|WebClientResponseException)(?:\$\w+)?: {_CODE} ",
        # PyGithub, google-api-core, .NET's HttpRequestException: "GithubException: 409 {...}"
        rf"\b(?:GithubException|HttpRequestException|HTTPException|HttpException): {_CODE}\b",
        rf"\bgoogle\.api_core\.exceptions\.\w+: {_CODE}\b(?: [A-Z]+ (?P<url>https?://\S+?):)?",
        # elasticsearch-py and opensearch-py log a request: "PUT http://...:9200/i/_doc/1
        # [status:409 request:0.003s]".
        rf"\b[A-Z]{{3,7}} (?P<url>https?://\S+) \[status:{_CODE} request:",
        # Octokit (Ruby) and similar: "PUT https://api.github.com/...: 409 - message"
        rf"\b[A-Z]{{3,7}} (?P<url>https?://\S+?): {_CODE}\b",
        # A method, a URL and the status (browser consoles, Octokit's log).
        rf"\b(?:GET|PUT|POST|PATCH|DELETE|HEAD) (?P<url>(?:https?://|/)\S+)(?: -)? {_CODE}"
        r"(?= \(| in \d|\s*$)",
        # npm: "code E403", "publish Failed PUT 403"
        rf"\bcode E{_CODE}\b",
        rf"\bFailed (?:GET|PUT|POST|PATCH|DELETE) {_CODE}\b",
        # A code named as a status: "status code 412", "StatusCode=409", "Return code is: 409",
        # Guzzle 3's "[status code] 409"...
        rf"(?i)\b(?:http[ _]?)?(?:status|response|return|error|http)[ _]?code(?: is|\])?"
        # (the separator's spaces are one run: "\s*[:=]?\s*" shares a run of spaces between
        # two stars, and took minutes on 100 KB of them)
        rf"\s*(?:[:=]\s*)?{_CODE}\b",
        rf"(?i)\bstatus(?:code|_code)?\s*[:=]\s*{_CODE}\b",
        # The same glued to a camel-case name: "ErrorHTTPStatusCode=412" (Azurite's log).
        rf"(?<=[a-z])(?:HTTP|Http)?(?:Status|Response)Code\s*[:=]\s*{_CODE}\b",
        rf"(?i)\b(?:http )?status {_CODE}\b",
        rf"(?i)\bHTTP (?:error|status|response|code)(?: code)?:? {_CODE}\b",
        rf"(?i)\bdoes not indicate success: {_CODE}\b",
        # "Error 409: ..." (Google APIs, Go clients, wget's "ERROR 409: Conflict.")
        rf"(?i)\berror {_CODE}\s*:",
        # "HTTP 422: Validation Failed" (gh), "(HTTP 403)"; not "HTTP 409 in RFC 9110".
        rf"\bHTTP {_CODE}(?=:|\)|[ \t]*$)",
        # "returned a 409", "failed with 412", "got 409 Conflict".
        rf"(?i)\b(?:returned|received|responded with|failed with|fails with|got)(?: an?)?"
        rf"(?: HTTP)?(?: status| error| response)?:? {_CODE}\b"
        r"(?!\s*(?:rows?|results?|items?|records?|bytes|ms\b|seconds?|times|files?|%))",
        r"(?i)\bwith an? (?P<status>[45]\d\d)(?!\d)(?= (?:and|error|response|status)\b)",
        # JSON-like text that is not a JSON document (escaped, cut, or a JS object).
        rf'\\?"(?:status|statusCode|status_code)\\?"\s*:\s*\\?"?{_CODE}\b',
        # A Node.js error object as console.log prints it: "  status: 409,"
        rf"^[^\S\n]+(?:status|statusCode): {_CODE},?$",
        # A Ruby hash as inspect prints it (Logstash, Faraday): ":status=>409", "\"status\"=>409".
        rf'(?::|\\?")(?:status|statusCode|status_code)\\?"?\s*=>\s*{_CODE}\b',
    )
)
# A code beside its own reason phrase: "409 Conflict", "409 (Conflict)", "Conflict (409)".
_WITH_PHRASE: Final = tuple(
    re.compile(pattern, re.IGNORECASE | re.MULTILINE)
    for pattern in (
        rf"(?<![\w/.:-]){_CODE}[ :-]+(?P<phrase>{_PHRASE}){_ENDS}",
        rf"(?<![\w/.:-])\({_CODE}\)[ :-]*(?P<phrase>{_PHRASE})\b",
        rf"(?<![\w/.:-]){_CODE} \((?P<phrase>{_PHRASE})\b",
    )
)
# "Conflict (409)": as ``\b(?P<phrase>PHRASE) \(CODE\)``, found from its code. That
# regex tries every phrase at every word of a text (0.7 s a megabyte); " (" starts
# the code, which `re` finds at once, and the phrase must end just before it. Google's
# .NET client writes the code in brackets: "Precondition Failed [412]". (One regex per
# bracket: each starts with its two characters, which `re` looks for fast; " [(\[]"
# would be tried at every space of a log.)
# Scala's and Akka's status objects glue the code to the phrase: "Conflict(409)" (es-hadoop).
_CODES_IN_BRACKETS: Final = (
    re.compile(rf" \({_CODE}\)"),
    re.compile(rf" \[{_CODE}\]"),
    re.compile(rf"(?<=[A-Za-z])\({_CODE}\)"),
)
_PHRASE_BEFORE: Final = re.compile(rf"\b(?P<phrase>{_PHRASE})\Z", re.IGNORECASE)
_LONGEST_PHRASE: Final = max(map(len, _PHRASES))
# The standard text a framework answers a status with, and the status it means.
_STANDARD_TEXTS: Final = (
    # Werkzeug (Flask) and Symfony's default descriptions.
    (
        re.compile(r"A conflict happened while processing the request\. +The resource might"),
        409,
    ),
    (re.compile(r"The precondition on the request for the URL failed positive evaluation"), 412),
    (re.compile(r"This request is required to be conditional; try using \"If-Match\""), 428),
    # sabre/dav (Nextcloud, Baikal) on a stale If-Match.
    (re.compile(r"An If-Match header was specified, but none of the specified ETags matched"), 412),
    # Exceptions named after their status: http-errors' PreconditionFailedError,
    # Werkzeug's and Sabre's PreconditionFailed, S3's and Cosmos DB's error code.
    (re.compile(r"\b(?:HTTP)?PreconditionFailed(?:Error|Exception)?\b"), 412),
    (re.compile(r"\b(?:HTTP)?PreconditionRequired(?:Error|Exception)?\b"), 428),
    (re.compile(r"\b(?:HTTP)?Conflict(?:Error|Exception)\b"), 409),
)
# JSON members that state a status, at any depth.
_JSON_KEYS: Final = frozenset(
    {"status", "statuscode", "status_code", "httpstatus", "httpstatuscode", "http_status"}
)
_MAX_JSON_NODES: Final = 5_000


learn((*_FORMS, *_WITH_PHRASE, *(pattern for pattern, _ in _STANDARD_TEXTS)))


def statuses(text: str | Subject) -> Iterator[tuple[int, str | None, int]]:
    """Each ``(status, url or None, where)`` that `text` states, in the order of the forms
    (`where`: the index in the text of the statement's status code)."""
    subject = text if isinstance(text, Subject) else Subject(text)
    for form in _FORMS:
        for match in subject.finditer(form):
            yield int(match.group("status")), match.groupdict().get("url"), match.start("status")
    for form in _WITH_PHRASE:
        for match in subject.finditer(form):
            yield from _agreeing(match.group("phrase"), match.group("status"), match.start())
    for phrase, code, at in _phrases_before_codes(subject.text):
        yield from _agreeing(phrase, code, at)
    for pattern, status in _STANDARD_TEXTS:
        for match in subject.finditer(pattern):
            yield status, None, match.start()


def _agreeing(phrase: str, code: str, at: int) -> Iterator[tuple[int, None, int]]:
    """The status, if `phrase` is its own."""
    status = int(code)
    if _PHRASES.get(phrase.lower().replace("_", " ")) == status:
        yield status, None, at


def _phrases_before_codes(text: str) -> Iterator[tuple[str, str, int]]:
    r"""The matches of ``\b(?P<phrase>PHRASE) \(CODE\)`` in `text`, in order: each code in
    parentheses (or brackets), and the phrase that ends just before it (in full, not in a
    previous match)."""
    last_end = 0
    found = (pattern.finditer(text) for pattern in _CODES_IN_BRACKETS)
    for code in heapq.merge(*found, key=lambda match: match.start()):
        start = code.start()
        phrase = _PHRASE_BEFORE.search(text, max(last_end, start - _LONGEST_PHRASE), start)
        if phrase is not None:
            last_end = code.end()
            yield phrase.group("phrase"), code.group("status"), phrase.start()


def json_statuses(document: Mapping[str, Any]) -> Iterator[int]:
    """The statuses a JSON body states: ``status``/``statusCode`` members at any depth,
    an error ``code`` of 400-599, and a Kubernetes Status object's ``code``."""
    stack: list[Any] = [document]
    seen = 0
    while stack and seen < _MAX_JSON_NODES:
        node = stack.pop()
        seen += 1
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        for key, value in node.items():
            name = str(key).lower()
            if isinstance(value, (dict, list)):
                stack.append(value)
            elif name in _JSON_KEYS or (name == "code" and _is_error_code(node, value)):
                status = _as_status(value)
                if status is not None:
                    yield status


def _is_error_code(node: Mapping[str, Any], value: Any) -> bool:
    """A ``code`` is a status in a Kubernetes Status, or when it is 400-599."""
    if node.get("kind") == "Status":
        return True
    status = _as_status(value)
    return status is not None and status >= 400


def _as_status(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and 100 <= value <= 599:
        return value
    if isinstance(value, str) and re.fullmatch(r"[1-5]\d\d", value):
        return int(value)
    return None
