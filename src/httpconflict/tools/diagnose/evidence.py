"""What a pasted input says: one normalised text, and the facts its forms state.

Theory of operation. Users paste whatever they have: an error message, a
traceback, ``curl -i`` or ``curl -v`` output, a raw response, a HAR file,
a JSON body. `read` turns any of them into an `Evidence`:

1. The text is cleaned: terminal colour codes removed, line ends made
   ``\\n``, the timestamp a CI runner puts on each line removed, each JSON
   log line written out as the message it holds (`structured`), HTML
   entities decoded when quotes come as ``&quot;`` (a body copied from a
   web page or an HTML log viewer). A HAR file (JSON with
   ``log.entries``) is rewritten as the raw exchanges of its failed
   requests, so it reads like ``curl -v``.
2. Each line that wraps a message (quotes escaped in a repr or in a JSON
   string inside another, typographic quotes, inline HTML tags) is
   appended once more unwrapped (`plain.plain_lines`).
3. Every JSON object in the text (a whole-input body, one after a status
   line, one inside a traceback's message, one that was escaped in a
   string) is parsed and appended as ``path: value`` lines, so a message
   that JSON escapes (``deployments.apps \\"web\\"``) can be matched as it reads.
4. Statuses, URLs, headers and problem types are taken only from the
   forms that state them (`statuses` knows the forms: a status line, a
   client's error message, a code named as a status, a code beside its
   reason phrase, a JSON ``status`` member...), never from a number that
   merely appears in prose.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import re
import sys
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from .literals import learn
from .long_lines import shortened
from .places import Places
from .plain import wrapped_lines
from .statuses import json_statuses
from .statuses import statuses as stated_statuses
from .structured import Unpacked, unpacked
from .subject import Subject

_MAX_JSON_ATTEMPTS: Final = 500
#: Failed tries of ``{`` may read this many times the text (realistic logs: under once).
_JSON_BUDGET: Final = 8
#: And be one per this many characters (beyond the first 500).
_JSON_CHARS_PER_TRY: Final = 64
#: A ``{`` is tried on this much of the text after it, more only when the try ran off its end.
_JSON_WINDOW: Final = 4096
_JSON_GROWTH: Final = 8
#: A try that failed this close to the end of its piece may have failed on the cut.
_JSON_CUT_SLACK: Final = 32
#: What `_decode_at` answers for a ``{`` that starts no JSON value.
_NOT_JSON: Final = object()
_MAX_FLAT_LINES: Final = 5_000
#: The most JSON objects read as objects (a log of JSON lines holds one per line): the first
#: and the last half of them.
MAX_DOCUMENTS: Final = 2_000
# The timestamp a CI runner (GitHub Actions) or `kubectl logs --timestamps` puts on every
# line it relays: no part of the message (whose patterns may start at a line's start).
# A container runtime's log file (CRI, as `kubectl logs` of a node or Loki shows it) adds the
# stream and whether the line was whole: "2024-06-01T12:00:00.123456789Z stderr F ".
_RELAYED: Final = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6,9}"
    r"(?:Z(?: std(?:out|err) [FP])?|[+-]\d\d:\d\d std(?:out|err) [FP]) ",
    re.MULTILINE,
)
# The prefix a relay puts on each line of one program's output: journald's or syslog's
# time, host and program ("Dec 05 18:40:01 web-1 app[4242]: "), `kubectl logs --prefix`
# ("[pod/api-7d9f8-abcde/api] "). A program that writes a message over lines (a traceback
# to stderr) gets it on each of them: taken off unless a line next to it names another
# program, it is no record's start (a line between other programs' lines keeps it).
_PER_LINE_SOURCE: Final = re.compile(
    r"^(?:\w{3} [ \d]\d \d\d:\d\d:\d\d(?:\.\d+)? (?P<host>\S+) (?P<program>[\w./@-]+(?:\[\d+\])?): "
    r"|(?P<pod>\[pod/[^\]\s]+\]) )"
)
_ANSI: Final = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
# A quote written as an HTML entity: the text was escaped for a web page.
_HTML_QUOTE: Final = re.compile(r"&(?:quot|#34|#x22);")

# Where a URL is stated without a status.
_URL_FORMS: Final = tuple(
    re.compile(pattern, re.MULTILINE)
    for pattern in (
        # The curl command itself, pasted with its output.
        r"^\$?[^\S\n]*curl\b[^\n]*?\s['\"]?(?P<url>https?://[^\s'\"]+)",
        # Spring: "409 Conflict on PUT request for \"https://...\""
        r"\bon [A-Z]+ request for \"(?P<url>[^\"]+)\"",
        # Guzzle 3's BadResponseException: "[status code] 409" and "[url] http://...".
        r"^\[url\] (?P<url>https?://[^\s']+)",
        # A Node.js error object's request config, as console.log prints it.
        r"^[^\S\n]+url: '(?P<url>https?://[^']+)',?$",
    )
)
_STATUS_LINE: Final = re.compile(r"^(?:< )?HTTP/\d(?:\.\d)? \d{3}\b.*$", re.MULTILINE)
_JAVA_FRAME: Final = re.compile(r"^[^\S\n]+at [\w$.]+\([\w$.]*(?::\d+)?\)$", re.MULTILINE)
_JAVASCRIPT_FRAME: Final = re.compile(r"^[^\S\n]+at .+[(\s]\S+:\d+:\d+\)?$", re.MULTILINE)
_XML_ERROR: Final = re.compile(r"<Error>\s*<Code>")
learn((*_URL_FORMS, _STATUS_LINE, _JAVA_FRAME, _JAVASCRIPT_FRAME, _XML_ERROR))
_HEADER_LINE: Final = re.compile(r"^(?:< )?([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*$")


@dataclass(frozen=True, slots=True)
class Statement:
    """An HTTP status or a URL (or both) stated in the paste, and where (an index of the paste)."""

    status: int | None
    url: str | None
    at: int


@dataclass(frozen=True, slots=True)
class Evidence:
    """What an input says, for the clues of the knowledge base."""

    #: The cleaned input, then its JSON objects as ``path: value`` lines.
    text: str
    statuses: tuple[int, ...] = ()
    urls: tuple[str, ...] = ()
    #: ``name: value`` header lines of the responses (and HAR requests), names in lower case.
    headers: tuple[str, ...] = ()
    #: The ``type`` of each problem details object found.
    problem_types: tuple[str, ...] = ()
    problems: tuple[Mapping[str, Any], ...] = ()
    #: What the input was read as ("HAR file", "HTTP response", "Python traceback"...).
    forms: tuple[str, ...] = ()
    #: What was not read, and why (a part of a huge input).
    notes: tuple[str, ...] = ()
    #: Each status and URL stated, where it was stated (`statuses` and `urls` list them once).
    statements: tuple[Statement, ...] = ()
    #: Where each index of `text` was in the paste, as a line.
    places: Places = field(default_factory=lambda: Places(""), compare=False)
    #: The text, for the clues' regexes (each runs only where it can match).
    subject: Subject = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "subject", Subject(self.text))

    def to_dict(self) -> dict[str, Any]:
        """The facts, for ``--json`` (not the text)."""
        return {
            "forms": list(self.forms),
            "statuses": list(self.statuses),
            "urls": list(self.urls),
            "problem_types": list(self.problem_types),
            **({"notes": list(self.notes)} if self.notes else {}),
        }


def read(raw: str) -> Evidence:
    """The evidence in `raw`, whatever form it was pasted in."""
    # A JSON log line's message is unescaped before what it holds is decoded (HTML).
    logged = unpacked(_clean(raw))
    text = _html_decoded(logged.text)
    if logged.carried and text.count("\n") != logged.text.count("\n"):
        logged = Unpacked(text)  # (an entity for a line end: the records' lines moved)
    forms: list[str] = ["JSON log lines"] if logged.carried else []
    statements: list[Statement] = []
    headers: list[str] = []
    notes: list[str] = []
    whole = _json_or_none(text)
    har = isinstance(whole, dict) and isinstance(whole.get("log"), dict)
    if har:
        text, har_urls, har_headers, summary = _from_har(whole["log"])
        forms.append(summary)
    text, cut = shortened(text)
    if cut is not None:
        notes.append(cut)
    if har:
        statements.extend(Statement(None, url, max(text.find(url), 0)) for url in har_urls)
        headers.extend(har_headers)
    wrapped = wrapped_lines(text)
    plain = "\n".join(line for _, line in wrapped)
    # Where each unwrapped line starts in the evidence's text, and the line it unwraps.
    appended: list[tuple[int, int]] = []
    start = len(text) + 1
    for origin, line in wrapped:
        appended.append((start, origin))
        start += len(line) + 1
    unwrapped = Places(text, appended, logged.starts)
    documents = [
        (document, _place(unwrapped, at, logged.carried))
        for document, at in _first_and_last(
            _json_objects(f"{text}\n{plain}" if plain else text, notes), notes
        )
    ]
    subject = Subject(text)
    for status, url, at in stated_statuses(subject):
        statements.append(Statement(status, url, at))
    for form in _URL_FORMS:
        statements.extend(
            Statement(None, m.group("url"), m.start("url")) for m in subject.finditer(form)
        )
    headers.extend(_response_headers(subject))
    problems: list[Mapping[str, Any]] = []
    for document, at in documents:
        statements.extend(Statement(status, None, at) for status in json_statuses(document))
        if _is_problem(document):
            problems.append(document)
    objects = [document for document, _ in documents]
    forms.extend(_forms(subject, objects, problems, whole is not None and not har))
    del subject  # its folded copy of the text, before the evidence's text is made
    start = len(text) + 1 + (len(plain) + 1 if plain else 0)
    flat_parts: list[str] = []
    for document, at in documents:
        lines = list(_flatten(document))
        if lines:
            appended.append((start, at))
            flat_parts.extend(lines)
            start += sum(len(line) + 1 for line in lines)
    flat = "\n".join(flat_parts)
    statements = [
        Statement(s.status, s.url.rstrip(".,;)") if s.url else None, s.at)
        for s in statements
        if s.status is None or 100 <= s.status <= 599
    ]
    return Evidence(
        text="\n".join(part for part in (text, plain, flat) if part),
        statuses=_unique(s.status for s in statements if s.status is not None),
        urls=_unique(s.url for s in statements if s.url),
        headers=_unique(headers),
        problem_types=_unique(str(p["type"]) for p in problems),
        problems=tuple(problems),
        forms=_unique(forms),
        notes=tuple(notes),
        statements=tuple(statements),
        places=Places(text, appended, logged.starts),
    )


#: Spaces a copy from a web page, a chat or a mail leaves in place of a plain one (a
#: no-break space, the typographic ones): each a plain space, in its place.
_SPACES: Final = str.maketrans(
    dict.fromkeys(
        "\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
        "\u202f\u205f\u3000",
        " ",
    )
)
#: A tab between two words (not an indentation, which tells a stack frame's line).
_TAB_BETWEEN_WORDS: Final = re.compile(r"(?<=\S)\t(?=\S)")
#: Zero-width characters, which split a word without being seen.
_ZERO_WIDTH: Final = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")


def _clean(text: str) -> str:
    text = text.removeprefix("\ufeff")
    text = _ZERO_WIDTH.sub("", _ANSI.sub("", text))
    if not text.isascii():  # (`translate` copies even what it leaves as it was)
        text = text.translate(_SPACES)
    text = _TAB_BETWEEN_WORDS.sub(" ", text)
    return _unrelayed(_RELAYED.sub("", text.replace("\r\n", "\n").replace("\r", "\n")))


def _html_decoded(text: str) -> str:
    if _HTML_QUOTE.search(text):
        # JSON pasted from a web page reads {&quot;error&quot;:...}: decoded, it parses.
        return html.unescape(text)
    return text


def _place(places: Places, at: int, carried: Mapping[int, int]) -> int:
    """Where a JSON object at `at` is read: the rest of a JSON log record where its message
    starts (what it states is the message's), any other where it is."""
    message = carried.get(places.line(at)) if carried else None
    return places.place(at) if message is None else places.start_of(message)


def _unrelayed(text: str) -> str:
    """`text` without the per-line prefix of a program's output, but where a line next to it
    has another program's."""
    if "]: " not in text and "[pod/" not in text:
        return text
    lines = text.split("\n")
    found = [_PER_LINE_SOURCE.match(line) for line in lines]
    sources = [m and (m["host"], m["program"], m["pod"]) for m in found]
    out = []
    for i, (line, match) in enumerate(zip(lines, found, strict=True)):
        neighbours = [sources[j] for j in (i - 1, i + 1) if 0 <= j < len(lines)]
        others = any(s is not None and s != sources[i] for s in neighbours)
        out.append(line[match.end() :] if match is not None and not others else line)
    return "\n".join(out)


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def _from_har(log: Mapping[str, Any]) -> tuple[str, list[str], list[str], str]:
    """A HAR log's failed exchanges as ``curl -v``-like text, their URLs and headers."""
    listed = log.get("entries")
    entries = [e for e in listed if isinstance(e, dict)] if isinstance(listed, list) else []
    failed = [e for e in entries if _har_status(e) >= 400]
    parts: list[str] = []
    urls: list[str] = []
    headers: list[str] = []
    for entry in failed:
        request = entry.get("request") or {}
        response = entry.get("response") or {}
        url = str(request.get("url", ""))
        urls.append(url)
        lines = [f"> {request.get('method', 'GET')} {url}"]
        for header in _har_headers(request):
            lines.append("> " + header)
            headers.append(header)
        version = str(response.get("httpVersion") or "HTTP/1.1")
        if not version.upper().startswith("HTTP/"):
            version = "HTTP/1.1"  # browsers write "h2" or "h3"
        lines.append(f"{version.upper()} {_har_status(entry)} {response.get('statusText', '')}")
        for header in _har_headers(response):
            lines.append(header)
            headers.append(header)
        lines.extend(["", _har_body(response.get("content") or {}), ""])
        parts.append("\n".join(lines))
    summary = f"HAR file ({len(entries)} requests, {len(failed)} failed)"
    return "\n".join(parts), urls, headers, summary


def _har_status(entry: Mapping[str, Any]) -> int:
    status = (entry.get("response") or {}).get("status")
    return status if isinstance(status, int) and not isinstance(status, bool) else 0


def _har_headers(message: Mapping[str, Any]) -> Iterator[str]:
    for header in message.get("headers") or ():
        if isinstance(header, dict) and "name" in header:
            yield f"{str(header['name']).lower()}: {header.get('value', '')}"


def _har_body(content: Mapping[str, Any]) -> str:
    text = content.get("text")
    if not isinstance(text, str):
        return ""
    if content.get("encoding") == "base64":
        try:
            return base64.b64decode(text, validate=False).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            return ""
    return text


def _json_objects(text: str, notes: list[str]) -> Iterator[tuple[Any, int]]:
    """Each JSON object in `text` (outermost only), in order, and where it starts.

    Each ``{`` is tried; a failed try costs what the decoder read before it
    failed, so the reading is cut (and `notes` says where) once failed tries
    have read `_JSON_BUDGET` times the text, or made `_JSON_TRIES` per
    character: ``{"a":{"a":...`` unclosed, a megabyte deep, would otherwise be
    read once from each of its braces.
    """
    decoder = json.JSONDecoder()
    position, tries, spent = 0, 0, 0
    budget = _JSON_BUDGET * len(text) + _MAX_JSON_ATTEMPTS
    most_tries = _MAX_JSON_ATTEMPTS + len(text) // _JSON_CHARS_PER_TRY
    while True:
        start = text.find("{", position)
        if start < 0:
            return
        if spent > budget or tries > most_tries:
            line = text.count("\n", 0, start) + 1
            notes.append(
                f"JSON objects were looked for up to line {line}: after that, the text was "
                "read as text only (its braces cost too much to try)"
            )
            return
        try:
            value, end, read = _decode_at(decoder, text, start)
        except RecursionError:
            # Nested deeper than Python's stack: read up to that depth.
            value, end, read = _NOT_JSON, start, sys.getrecursionlimit()
        if value is _NOT_JSON:
            tries += 1
            spent += read
            position = start + 1
            continue
        if isinstance(value, dict) and value:
            yield value, start
        position = end


def _first_and_last(
    documents: Iterator[tuple[Any, int]], notes: list[str], most: int = MAX_DOCUMENTS
) -> list[tuple[Any, int]]:
    """Of `documents`, all, or of more than `most` the first and the last `most // 2`, with a
    sentence in `notes` saying how many were left out (what is kept stays bounded)."""
    half = most // 2
    first: list[tuple[Any, int]] = []
    last: deque[tuple[Any, int]] = deque(maxlen=half)
    seen = 0
    for document in documents:
        seen += 1
        if len(first) < half:
            first.append(document)
        else:
            last.append(document)
    skipped = seen - len(first) - len(last)
    if skipped:
        notes.append(
            f"{seen:,} JSON objects: read the first {len(first):,} and the last {len(last):,} "
            f"as JSON, the {skipped:,} between them as text only"
        )
    return [*first, *last]


def _decode_at(decoder: json.JSONDecoder, text: str, start: int) -> tuple[Any, int, int]:
    """The JSON value that starts at `start`, the index after it, and the characters read.

    The value is `_NOT_JSON` when there is none. The decoder is given a piece of the text
    from `start`, grown when a try fails near the piece's end: a failure's JSONDecodeError
    counts the lines of its document up to where it failed, and with the whole text every
    failed ``{`` would cost the text before it (10 MB of binary junk took minutes).
    """
    window, read = _JSON_WINDOW, 0
    while True:
        piece = text[start : start + window]
        try:
            value, used = decoder.raw_decode(piece)
        except json.JSONDecodeError as error:
            cut = start + len(piece) < len(text) and (
                error.pos >= len(piece) - _JSON_CUT_SLACK
                or error.msg.startswith("Unterminated string")
            )
            if not cut:
                return _NOT_JSON, start, read + max(error.pos, 1)
            read += len(piece)
            window *= _JSON_GROWTH
            continue
        return value, start + used, read + used


def _response_headers(subject: Subject) -> Iterator[str]:
    """The header lines after each status line (curl -i, curl -v, a raw response)."""
    text = subject.text
    for status_line in subject.finditer(_STATUS_LINE):
        start = status_line.end() + 1
        end = text.find("\n\n", start)
        for line in text[start : end if end >= 0 else len(text)].split("\n"):
            header = _HEADER_LINE.match(line)
            if header is None:
                break
            yield f"{header.group(1).lower()}: {header.group(2)}"


def _is_problem(document: Mapping[str, Any]) -> bool:
    """An RFC 9457 problem details object: a ``type`` URI, and a title or status."""
    kind = document.get("type")
    return (
        isinstance(kind, str)
        and (":" in kind or kind.startswith("/"))
        and ("title" in document or "status" in document)
    )


def _flatten(value: Any, path: str = "") -> Iterator[str]:
    """``path: value`` lines of a JSON value (strings unescaped), at most a few thousand."""
    stack: list[tuple[str, Any]] = [(path, value)]
    produced = 0
    while stack and produced < _MAX_FLAT_LINES:
        where, item = stack.pop()
        if isinstance(item, dict):
            stack.extend(
                reversed([(f"{where}.{k}" if where else str(k), v) for k, v in item.items()])
            )
        elif isinstance(item, list):
            stack.extend(reversed([(f"{where}[{i}]", v) for i, v in enumerate(item)]))
        else:
            produced += 1
            yield f"{where}: {item if isinstance(item, str) else json.dumps(item)}"


def _forms(
    subject: Subject, documents: list[Any], problems: list[Any], whole_json: bool
) -> list[str]:
    text = subject.text
    forms = []
    if subject.search(_STATUS_LINE):
        forms.append("HTTP response")
    if problems:
        forms.append("problem+json body")
    if whole_json:
        forms.append("JSON document")
    elif documents:
        forms.append("embedded JSON")
    if "Traceback (most recent call last):" in text:
        forms.append("Python traceback")
    if subject.search(_JAVA_FRAME):
        forms.append("Java stack trace")
    if subject.search(_JAVASCRIPT_FRAME):
        forms.append("JavaScript stack trace")
    if "<?xml" in text or subject.search(_XML_ERROR):
        forms.append("XML error")
    return forms or ["text"]


def _unique(items: Iterator[Any] | list[Any]) -> tuple[Any, ...]:
    return tuple(dict.fromkeys(items))
