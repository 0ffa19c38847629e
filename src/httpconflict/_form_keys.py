"""Idempotency keys carried by HTML forms: a double-clicked Save runs once.

A browser's form cannot send an ``Idempotency-Key`` header, so a page
carries its key in a hidden field instead (`new_form_key`, fresh each
time the page renders), and a policy whose `form_field` names that field
reads it from the POST body: ``application/x-www-form-urlencoded``, or
``multipart/form-data`` up to the policy's `max_body` (a larger upload,
or one of no declared length, goes through unkeyed, as it always did).

The key is the field's value joined with a digest of the form's fields
(`form_submission`): an urlencoded body's bytes (a browser encodes the
same fields the same way), a multipart body's names, values, file names,
types and files without its framing (a browser draws a new boundary for
each submission, a double click's too). A CSRF token (`PAGE_TOKENS`) is
left out: a page renders it anew each time, so Back, which fetches the
page again and restores what the user had typed (the key too, when the
page keeps it in ``history.state``), sends the same submission with
another token. A double click, or a reload that
resends the POST, sends the same fields: the second request is the
first's duplicate, and gets its answer (a 302 to what the first created:
the browser lands where the first would have taken it). A form edited
and sent again from the same page (back, change a field, save) holds
other fields, so another request, which runs: the user meant a second
one. Under the header's rules it would be a key reused for another
request, a 422 no user could act on.

A browser shows the answer to the last request it sent, so a duplicate
that comes while the first runs must wait for the first's answer, not get
a 409 in flight: form-keyed requests wait `FORM_WAIT` seconds unless the
policy waits longer (`form_policy`).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, replace
from typing import Final
from urllib.parse import unquote_to_bytes

from ._errors import InvalidParameter
from ._idempotency_policy import IdempotencyPolicy

__all__ = [
    "FORM_WAIT",
    "PAGE_TOKENS",
    "FormSubmission",
    "form_policy",
    "form_submission",
    "is_form",
    "new_form_key",
    "reads_form_key",
]

#: Seconds a duplicate of a form's submission waits for the first one's answer at least.
FORM_WAIT: Final = 10.0
_URLENCODED: Final = "application/x-www-form-urlencoded"
_MULTIPART: Final = "multipart/form-data"
#: Fields a page renders anew each time whatever the user did, left out of a submission's
#: digest: the CSRF tokens of Django, WTForms (Flask-WTF), Rails and Laravel.
PAGE_TOKENS: Final = frozenset(
    {"csrfmiddlewaretoken", "csrf_token", "authenticity_token", "_token"}
)
#: What `new_form_key` makes: URL-safe base64 (a page may also make its own, of these characters).
_VALUE: Final = re.compile(r"[A-Za-z0-9_-]{16,128}")
#: A multipart body's boundary parameter, quoted or a token (RFC 2046 §5.1.1: 1 to 70 characters).
_BOUNDARY: Final = re.compile(r';\s*boundary\s*=\s*(?:"([^"]*)"|([^;\s]+))', re.IGNORECASE)
_MAX_BOUNDARY: Final = 70
#: A Content-Disposition parameter: name="value" (backslash escapes kept as sent) or name=token.
_PARAMETER: Final = re.compile(r';\s*([\w*-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))')


def new_form_key() -> str:
    """A fresh key for a form's hidden field: 24 random URL-safe characters."""
    return secrets.token_urlsafe(18)


def is_form(content_type: str | None) -> bool:
    """Whether a body of `content_type` is an HTML form's submission."""
    media = (content_type or "").partition(";")[0].strip().lower()
    return media in (_URLENCODED, _MULTIPART)


def reads_form_key(
    policy: IdempotencyPolicy, content_type: str | None, declared_length: int | None
) -> bool:
    """Whether a covered request without the header has its body read for a form's key."""
    return (
        policy.form_field is not None
        and is_form(content_type)
        and declared_length is not None
        and declared_length <= policy.max_body
    )


@dataclass(frozen=True, slots=True)
class FormSubmission:
    """A form's key, and its fields as they were submitted."""

    #: The field's value and a digest of `content`.
    key: str
    #: The fields, names, file names and types in order, without the body's framing:
    #: a browser draws a new multipart boundary for each submission, a double click too.
    content: bytes


def form_submission(content_type: str | None, body: bytes, field: str) -> FormSubmission | None:
    """The key of a form's submission: `field`'s value and a digest of its fields, or None.

    None when the body is not a form's or holds no such field. Raises
    `InvalidParameter` (400) for a value no page made: not 16 to 128
    URL-safe characters, or given twice.
    """
    media = (content_type or "").partition(";")[0].strip().lower()
    if media == _URLENCODED:
        # A browser encodes the same fields to the same bytes: they are the content.
        values = _urlencoded_values(body, field)
        content = b"&".join(p for p in body.split(b"&") if _name(p) not in PAGE_TOKENS)
    elif media == _MULTIPART:
        parts = _multipart_fields(content_type or "", body)
        values = [value for name, filename, _, value in parts if name == field and not filename]
        content = b"".join(
            _framed(item.encode("utf-8", "surrogateescape") if isinstance(item, str) else item)
            for part in parts
            if part[1] is not None or part[0] not in PAGE_TOKENS
            for item in (part[0], part[1] or "", part[2] or "", part[3])
        )
    else:
        return None
    if not values:
        return None
    if len(values) > 1:
        raise InvalidParameter.given_twice(field)
    value = values[0].decode("latin-1").strip()
    if _VALUE.fullmatch(value) is None:
        raise InvalidParameter(
            f"the form's {field} is not a key its page made (16 to 128 letters, digits, "
            "'-' and '_'): reload the page and submit it again",
            parameter=field,
        )
    return FormSubmission(f"{value}.{hashlib.sha256(content).hexdigest()[:32]}", content)


def form_policy(policy: IdempotencyPolicy) -> IdempotencyPolicy:
    """`policy` for a form-keyed request: its duplicates wait for its answer."""
    return policy if policy.wait >= FORM_WAIT else replace(policy, wait=FORM_WAIT)


#: A form's field: its name, file name (None: not a file), media type and value.
_Field = tuple[str, str | None, str | None, bytes]


def _urlencoded_values(body: bytes, field: str) -> list[bytes]:
    """`field`'s values in an application/x-www-form-urlencoded body, percent-decoded."""
    values = []
    for pair in body.split(b"&"):
        _, equals, value = pair.partition(b"=")
        if equals and _name(pair) == field:
            values.append(unquote_to_bytes(value.replace(b"+", b" ")))
    return values


def _name(pair: bytes) -> str:
    """The name of an urlencoded ``name=value`` pair, percent-decoded (latin-1)."""
    found = pair.partition(b"=")[0]
    return unquote_to_bytes(found.replace(b"+", b" ")).decode("latin-1")


def _multipart_fields(content_type: str, body: bytes) -> list[_Field]:
    """The fields of a multipart/form-data body (RFC 7578), files included.

    Read in one pass over the bytes (the email package's parser took 7 s
    for 90,000 empty parts in a megabyte, and recursed into nested
    multiparts until it overflowed the stack). Nested multiparts and
    Content-Transfer-Encoding are not of form-data (RFC 7578 §4.3, §4.7):
    a part's bytes are its value, as sent.
    """
    found = _BOUNDARY.search(content_type)
    if found is None:
        return []
    boundary = (found.group(1) if found.group(1) is not None else found.group(2)).encode("latin-1")
    if not 0 < len(boundary) <= _MAX_BOUNDARY:
        return []
    # Each part follows CRLF "--" boundary; the body's first has no CRLF before it.
    chunks = (b"\r\n" + body).split(b"\r\n--" + boundary)
    fields: list[_Field] = []
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break  # the close delimiter: what follows is the epilogue
        head, separator, value = chunk.partition(b"\r\n\r\n")
        if not separator:
            return []  # a part with no end to its header: no form a browser sent
        name = filename = media = None
        for line in head.split(b"\r\n")[1:]:  # the first: the rest of the delimiter's line
            field, _, text = line.decode("latin-1").partition(":")
            field = field.strip().lower()
            if field == "content-disposition":
                params = {
                    key.lower(): quoted if quoted is not None else bare
                    for key, quoted, bare in _PARAMETER.findall(text)
                }
                name = params.get("name")
                filename = params.get("filename", params.get("filename*"))
            elif field == "content-type":
                media = text.strip()
        if name is not None:
            fields.append((name, filename, media, value))
    return fields


def _framed(item: bytes) -> bytes:
    """`item` with its length first: fields joined so cannot read as other fields."""
    return b"%d:" % len(item) + item
