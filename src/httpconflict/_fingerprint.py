"""Which request an Idempotency-Key names: the fingerprint a retry must repeat.

A key is for one request: a retry sends it again unchanged, and gets its
answer; another request under the key is a 422 (`_idempotency`). The
fingerprint is what "unchanged" means: the method, the target, the caller,
the body, and the fields that say which write the request is
(`MEANING_FIELDS`), each compared as it means, not as it is written (a
retry through another client or proxy writes fields otherwise).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from typing import Final

from ._errors import HeaderFieldTooLarge
from ._field_lists import list_elements
from ._media import parse_media_type

#: Request fields that say which write a request is, besides its method, target,
#: caller and body: the preconditions (a write meant for one version is another
#: write than one meant for the next), the body's media type and coding (the same
#: bytes are another edit as a JSON Patch than as a Merge Patch), and Prefer
#: (``rebase`` changes what a write does). A retry repeats them; a client that
#: changes one under its key (the current ETag after a 412, an If-Match after a
#: 428) sends another request, and is told so (422), not replayed the first
#: one's refusal, which told it to do what it then did.
MEANING_FIELDS: Final = (
    "content-type",
    "content-encoding",
    "if-match",
    "if-none-match",
    "if-unmodified-since",
    "prefer",
)


def fingerprint(
    method: str,
    target: str,
    principal: str,
    body: bytes,
    fields: Sequence[tuple[str, str]] | None = None,
) -> str:
    """What makes two requests "the same request": method, target, caller, body, and `fields`.

    `fields`: the request's `MEANING_FIELDS`, as `meaning_fields` gives them.
    Without them (None), the fingerprint of releases before they counted:
    the one a record made then holds (see `KeyedRequest`).
    """
    digest = hashlib.sha256()
    for part in (method.upper(), target, principal):
        digest.update(part.encode("utf-8", "surrogateescape"))
        digest.update(b"\0")
    digest.update(hashlib.sha256(body).digest())
    if fields is not None:
        # Always marked, present fields or not: no request's fingerprint is
        # another's of the earlier kind.
        digest.update(b"\1fields\0")
        for name, value in fields:
            digest.update(f"{name}\0{value}\0".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def meaning_fields(values: Callable[[str], Sequence[str]]) -> list[tuple[str, str]]:
    """The request's `MEANING_FIELDS` that are present, as a retry's would compare.

    `values(name)`: the field's lines. Written otherwise but meaning the same
    is the same: lines split or joined, spaces around commas; a media type
    in lower case, its parameters in any order, without a form's multipart
    boundary (new each time a browser sends it) and a charset that names
    UTF-8 (what a JSON body is without one, RFC 8259 §8.1).
    """
    found = []
    for name in MEANING_FIELDS:
        lines = values(name)
        if not lines:
            continue
        try:
            found.append((name, _meaning(name, lines)))
        except HeaderFieldTooLarge as error:
            raise error.for_header(name.title()) from None
    return found


def _meaning(name: str, lines: Sequence[str]) -> str:
    """One field's lines as `meaning_fields` compares them."""
    if name == "content-type":
        value = ",".join(map(_media_type_meaning, lines))
    elif name == "prefer":
        value = ",".join(
            _preference_meaning(part)
            for line in lines
            for part in list_elements(line)
            if part.strip()
        )
    else:
        # RFC 9110 §5.6.1: empty list elements are ignored. Split outside
        # quotes: split at every comma, ``If-Match: "a, b"`` (no entity-tag,
        # a 400) was ``"a,b"`` (one), and that 400 was replayed to it.
        parts = (part.strip() for line in lines for part in list_elements(line))
        value = ",".join(part for part in parts if part)
        value = value.lower() if name == "content-encoding" else value
    return value


def _preference_meaning(element: str) -> str:
    """A Prefer list element as `meaning_fields` compares it: its name in lower case.

    RFC 7240 §2: preference names are case-insensitive. Split at every
    comma, ``x="a, b"`` and ``x="a,b"`` were one request.
    """
    element = element.strip()
    name = re.match(r"[^=;\s]*", element)
    end = name.end() if name else 0
    return element[:end].lower() + element[end:]


def _media_type_meaning(value: str) -> str:
    """A Content-Type line as `meaning_fields` compares it.

    Its charset counts: a body refused 415 for ``charset=latin-1`` and sent
    again in UTF-8 under its key, as the 415 said, was replayed the 415 for
    as long as the key was kept.
    """
    essence, params = parse_media_type(value)
    kept = sorted(
        f"{param}={setting.lower() if param == 'charset' else setting}"
        for param, setting in params.items()
        if param != "boundary" and not (param == "charset" and setting.lower() in ("utf-8", "utf8"))
    )
    return ";".join([essence, *kept])
