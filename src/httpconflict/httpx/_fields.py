"""Header fields as the core sees them: each byte one character (ISO 8859-1), both ways.

RFC 9110 §5.5: a field value is octets, and "a recipient SHOULD treat
other octets in field content (obs-text) as opaque data"; an entity tag
may hold any of them (§8.8.3, ``etagc = %x21 / %x23-7E / obs-text``). httpx
decodes a field as ASCII, else UTF-8, else ISO 8859-1, guessed over all of
an answer's fields, and encodes a str field it sends as ASCII: an ETag
``"café"`` came back as a str that could not be sent (UnicodeEncodeError,
after update's GET, and in get() then put()). The core reads the fields
of an answer decoded ISO 8859-1, which maps each byte to one character
and back, and what it sends is encoded the same way, so an ETag goes back
byte for byte, as If-Match's strong comparison needs (§13.1.1).
"""

from __future__ import annotations

from typing import Final

import httpx

#: Each byte one character, and back.
_OCTETS: Final = "iso-8859-1"


def as_came(headers: httpx.Headers) -> httpx.Headers:
    """`headers` read each byte as one character (a copy: the caller's answer is left as is)."""
    return httpx.Headers(headers.raw, encoding=_OCTETS)


def as_sent(value: str) -> bytes:
    """A field value the core made (from fields `as_came`) as the bytes to send."""
    return value.encode(_OCTETS)
