"""Entity tags (RFC 9110 §8.8.3): parse, format, compare.

Theory of operation: an `ETag` is one entity-tag, strong or weak. An
`EntityTags` is the value of an If-Match or If-None-Match field: either the
wildcard `*` or a list of entity-tags, gathered from every field line of the
request (a recipient combines repeated field lines with commas, §5.3).
Parsing is strict: a malformed value raises `MalformedHeader`, which is also
a `ValueError` and carries a 400 problem. A list of more than
`MAX_ENTITY_TAGS` raises `HeaderFieldTooLarge` (431) before it is read, and
every pattern here matches in time linear in the value's length.
"""

from __future__ import annotations

import binascii
import functools
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from ._errors import HeaderFieldTooLarge, MalformedHeader

# RFC 9110 §8.8.3:
#   entity-tag = [ weak ] opaque-tag
#   weak       = %s"W/"
#   opaque-tag = DQUOTE *etagc DQUOTE
#   etagc      = %x21 / %x23-7E / obs-text
#   obs-text   = %x80-FF
_ETAGC: Final = r"[\x21\x23-\x7e\x80-\xff]"
_OPAQUE: Final = re.compile(f"{_ETAGC}*")
_ENTITY_TAG: Final = re.compile(rf'(W/)?"({_ETAGC}*)"')
# The common case, one entity-tag alone, parsed in one step.
_LONE_TAG: Final = re.compile(rf'[ \t]*+(W/)?"({_ETAGC}*+)"[ \t]*+')

# RFC 9110 §5.6.1: OWS = *( SP / HTAB ) surrounds each #element, and "a
# recipient MUST parse and ignore a reasonable number of empty list elements".
_OWS: Final = " \t"
_URLSAFE: Final = bytes.maketrans(b"+/", b"-_")


@dataclass(frozen=True, slots=True)
class ETag:
    """One entity-tag: an opaque string and a weakness flag."""

    opaque: str
    weak: bool = False

    def __post_init__(self) -> None:
        if _OPAQUE.fullmatch(self.opaque) is None:
            raise ValueError(f"not a valid opaque entity-tag value: {self.opaque!r}")

    @classmethod
    def parse(cls, value: str) -> ETag:
        """Parse one entity-tag such as ``"abc"`` or ``W/"abc"``."""
        match = _ENTITY_TAG.fullmatch(value.strip(_OWS))
        if match is None:
            raise _malformed_etag(value)
        return cls(match.group(2), weak=match.group(1) is not None)

    @classmethod
    def from_content(cls, content: bytes) -> ETag:
        """A strong entity-tag derived from the representation's bytes.

        Two representations get the same tag exactly when their bytes are
        equal, so a retried identical write is recognised as such (and not
        answered with a false 412, as a version-counter tag would be).
        """
        digest = hashlib.sha256(content).digest()[:16]
        # base64url of 16 bytes: 22 characters, all etagc, so not checked
        # again (every write makes one).
        tag = object.__new__(cls)
        opaque = binascii.b2a_base64(digest, newline=False).translate(_URLSAFE)
        object.__setattr__(tag, "opaque", opaque[:22].decode("ascii"))
        object.__setattr__(tag, "weak", False)
        return tag

    def to_header(self) -> str:
        """Format as a field value: ``"abc"`` or ``W/"abc"``."""
        return f'W/"{self.opaque}"' if self.weak else f'"{self.opaque}"'

    def __str__(self) -> str:
        return self.to_header()

    def strong_compare(self, other: ETag) -> bool:
        # RFC 9110 §8.8.3.2: "Strong comparison: two entity tags are
        # equivalent if both are not weak and their opaque-tags match
        # character-by-character."
        return not self.weak and not other.weak and self.opaque == other.opaque

    def weak_compare(self, other: ETag) -> bool:
        # RFC 9110 §8.8.3.2: "Weak comparison: two entity tags are equivalent
        # if their opaque-tags match character-by-character, regardless of
        # either or both being tagged as "weak"."
        return self.opaque == other.opaque


@dataclass(frozen=True, slots=True)
class EntityTags:
    """The value of an If-Match or If-None-Match field.

    ``any`` is true for the wildcard ``*``; otherwise ``tags`` lists the
    entity-tags in the order they were received.
    """

    tags: tuple[ETag, ...] = ()
    any: bool = False

    def __post_init__(self) -> None:
        if self.any and self.tags:
            raise ValueError('"*" cannot be combined with entity-tags')

    @classmethod
    def parse(cls, lines: str | Iterable[str]) -> EntityTags:
        """Parse one field value, or every field line of one field name.

        If-Match = "*" / #entity-tag  (RFC 9110 §13.1.1)
        """
        combined = lines if isinstance(lines, str) else ", ".join(lines)
        if len(combined) > CACHED_FIELD:
            return cls._parse(combined)
        return _parse_entity_tags(combined)

    @classmethod
    def _parse(cls, combined: str) -> EntityTags:
        lone = _LONE_TAG.fullmatch(combined)
        if lone is not None:
            return cls((ETag(lone.group(2), weak=lone.group(1) is not None),))
        # Counted before anything else reads the list: 20,000 tags in 60 KiB
        # took 85-195 ms of the worker's loop to read, each time they came.
        if _elements_at_most(combined) > MAX_ENTITY_TAGS:
            raise HeaderFieldTooLarge(
                f"the list holds more than {MAX_ENTITY_TAGS} entity-tags; "
                "send the ETag you received (a cache, the few it stored)",
                value=combined,
                max_elements=MAX_ENTITY_TAGS,
            )
        # The whole list checked in one pass, then read by splitting it at
        # its quotes: in a list `_LIST` matched, the opaque-tags are every
        # other part, and the part before each ends in "W/" when it is weak.
        # (A regex scan for the elements cost 0.7 us for each separator.)
        if _LIST.fullmatch(combined) is None:
            raise _malformed_etag(combined)
        parts = combined.split('"')
        opaques, outside = parts[1::2], parts[0::2]
        stars = sum(text.count("*") for text in outside)
        if stars:
            if stars == 1 and not opaques:
                return cls(any=True)
            raise MalformedHeader(f'"*" must stand alone, but got {combined!r}', value=combined)
        if not opaques:
            raise MalformedHeader(
                "an empty list of entity-tags matches nothing; "
                "send the ETag you received, or omit the field",
                value=combined,
            )
        return cls(
            tuple(
                _checked_tag(opaque, before.endswith("W/"))
                for before, opaque in zip(outside, opaques, strict=False)
            )
        )

    def to_header(self) -> str:
        """Format as one field value."""
        return "*" if self.any else ", ".join(t.to_header() for t in self.tags)

    def __str__(self) -> str:
        return self.to_header()

    def strong_match(self, current: ETag) -> bool:
        """Whether If-Match holds for a current representation tagged `current`.

        RFC 9110 §13.1.1: "An origin server MUST use the strong comparison
        function when comparing entity tags for If-Match".
        """
        return self.any or any(t.strong_compare(current) for t in self.tags)

    def weak_match(self, current: ETag) -> bool:
        """Whether an If-None-Match list names a current representation.

        RFC 9110 §13.1.2: "A recipient MUST use the weak comparison function
        when comparing entity tags for If-None-Match".
        """
        return self.any or any(t.weak_compare(current) for t in self.tags)


# Values are immutable, and clients revalidating a resource send the same
# field value again and again. Errors are raised, so never cached. Only
# fields of a few tags are kept: a client's 64 KiB list of 20,000 tags was
# kept too, 1.1 MB parsed, and 200 such GETs grew a worker by 230 MB.
_parse_entity_tags: Final = functools.lru_cache(maxsize=4096)(EntityTags._parse)
#: The longest field value (in characters) whose parse is kept for the next request.
CACHED_FIELD: Final = 512
#: The most entity-tags an If-Match or If-None-Match list may hold (a cache
#: revalidating sends the few it stored; a client writing, the one it read).
MAX_ENTITY_TAGS: Final = 64

# RFC 9110 §5.6.1: a list, empty elements and OWS around each allowed; an
# element is "*" or an entity-tag. An etagc is never a DQUOTE, so a tag
# ends at its second quote. Every run of separators is possessive (*+): it
# never gives back what it took, since no element starts with a space or a
# comma. Without that, a field of 16,000 commas and one "x" took 2.2 s to
# refuse, as each of the leading commas was tried again against the
# trailing run, and the 64 KiB a head may hold some 30 s.
_ITEM: Final = rf'(?:\*|(?:W/)?"{_ETAGC}*+")'
_LIST: Final = re.compile(rf"[ \t,]*+(?:{_ITEM}(?:[ \t]*+,[ \t,]*+{_ITEM})*+)?+[ \t,]*+")


def _elements_at_most(value: str) -> int:
    """At least as many as the elements of `value`, were it a list: its quoted parts and stars.

    Each entity-tag has two quotes; a star outside them is an element. Counted
    with `str` methods, at a few microseconds for 64 KiB.
    """
    quotes = value.count('"')
    if quotes > 2 * MAX_ENTITY_TAGS + 1:
        return quotes // 2
    return quotes // 2 + sum(text.count("*") for text in value.split('"')[::2])


def _checked_tag(opaque: str, weak: bool) -> ETag:
    """An ETag of an opaque-tag `_LIST` has checked, without checking it again."""
    tag = object.__new__(ETag)
    object.__setattr__(tag, "opaque", opaque)
    object.__setattr__(tag, "weak", weak)
    return tag


def _malformed_etag(value: str) -> MalformedHeader:
    hint = ""
    bare = value.strip(_OWS)
    if bare and '"' not in bare and "," not in bare and re.fullmatch(f"{_ETAGC}+", bare):
        hint = f'; entity-tags are quoted: did you mean "{bare}"?'
    elif bare.startswith('w/"'):
        hint = '; the weak prefix is an upper-case "W/"'
    return MalformedHeader(f"not a valid entity-tag: {value!r}{hint}", value=value)
