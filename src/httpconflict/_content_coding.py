"""Entity-tags of content-coded representations: their own on the way out, the same on the way in.

Theory of operation: a representation sent gzip-compressed is other bytes
than the same one sent as is, and a strong entity-tag names bytes. RFC
9110 §8.8.3.3: "a strong entity tag for a content-encoded representation
has to be distinct from the entity tag of an unencoded representation to
prevent potential conflicts during cache updates and range requests"; its
example tags the gzip form of ``"xyzzy"`` as ``"xyzzy-gzip"``, and so does
`encoded_etag`. A weak tag stays as it is: weak tags may be shared by
representations that are semantically equivalent (§8.8.1), which an
encoded and a plain one are.

A client that read the coded form sends its tag back: in If-None-Match (a
cache revalidating) and in If-Match (a write based on what it read). Both
name the version the plain tag names, so `identity_etags` turns each back
into the plain tag before the preconditions are evaluated: If-Match still
compares strongly, and holds exactly when the version read is current.
Making the coded tag weak instead (as some servers do) would make every
If-Match of a client that accepts gzip fail, since a weak tag never
matches If-Match (§13.1.1).

The suffix ``-<coding>`` is taken: an application whose own tags end in
it must not use this (the service's tags are 22 characters of base64url).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from ._errors import MalformedHeader
from ._etag import EntityTags, ETag


def encoded_etag(value: str, coding: str) -> str:
    """The ETag field value of the `coding`-coded form of the representation tagged `value`.

    A weak tag, or a value that is not one entity-tag, is given back as it is.
    """
    try:
        etag = ETag.parse(value)
    except MalformedHeader:
        return value
    if etag.weak:
        return value
    return ETag(f"{etag.opaque}-{coding.lower()}").to_header()


@dataclass(frozen=True, slots=True)
class IdentityTags:
    """An If-Match or If-None-Match value with its coded tags turned back into plain ones.

    `value` is the field value to evaluate (None: unchanged); `coded` maps
    each plain tag's opaque part to the coding the client named it in.
    """

    value: str | None
    coded: dict[str, str]


def accepts_coding(fields: Iterable[str], coding: str) -> bool:
    """Whether Accept-Encoding field lines `fields` take `coding` (RFC 9110 §12.5.3).

    A coding is taken when the field names it, or else names "*", with a
    weight above 0: "q=0" means "not acceptable", names are
    case-insensitive, and "x-gzip" is gzip (§8.4.1.3: a recipient "SHOULD
    consider 'x-gzip' to be equivalent to 'gzip'"). A field naming neither
    takes nothing but identity here: a server that codes only what was
    asked for cannot surprise a client that asked for nothing. A malformed
    weight counts as none given (1).
    """
    coding = coding.lower()
    aliases = {coding, "x-" + coding} if coding == "gzip" else {coding}
    named: float | None = None
    wildcard: float | None = None
    for line in fields:
        for element in line.split(","):
            name, *params = (part.strip(" \t") for part in element.split(";"))
            name = name.lower()
            if name in aliases:
                named = max(named or 0.0, _weight(params))
            elif name == "*":
                wildcard = max(wildcard or 0.0, _weight(params))
    weight = named if named is not None else wildcard
    return weight is not None and weight > 0


def _weight(params: list[str]) -> float:
    for param in params:
        name, _, value = param.partition("=")
        if name.strip(" \t").lower() == "q":
            try:
                return float(value.strip(" \t"))
            except ValueError:
                return 1.0
    return 1.0


def identity_etags(value: str, codings: Collection[str]) -> IdentityTags:
    """Turn the tags `encoded_etag` made for `codings` back into the plain ones.

    A malformed value is left for the preconditions to refuse (400).
    """
    try:
        tags = EntityTags.parse(value)
    except MalformedHeader:
        return IdentityTags(None, {})
    coded: dict[str, str] = {}
    plain: list[ETag] = []
    for tag in tags.tags:
        base, _, coding = tag.opaque.rpartition("-")
        if not tag.weak and base and coding in codings:
            coded[base] = coding
            plain.append(ETag(base))
        else:
            plain.append(tag)
    if not coded:
        return IdentityTags(None, {})
    return IdentityTags(EntityTags(tuple(plain)).to_header(), coded)


def not_modified_etag(value: str, coded: dict[str, str]) -> str:
    """The ETag of a 304: the coded form when the client's If-None-Match named that one.

    RFC 9110 §15.4.5: the 304 carries the ETag "that would have been sent in
    a 200 (OK) response to the same request"; a cache finds the response it
    stored by it (RFC 9111 §4.3.4), and it stored the coded one.
    """
    try:
        etag = ETag.parse(value)
    except MalformedHeader:
        return value
    coding = coded.get(etag.opaque)
    if etag.weak or coding is None:
        return value
    return encoded_etag(value, coding)


def vary_with(lines: list[str], name: str = "Accept-Encoding") -> str:
    """One Vary field value listing `name` besides what the answer's Vary lines list.

    An answer that may be sent coded or not, by the request's
    Accept-Encoding, varies with it (RFC 9110 §12.5.5), and a 304 repeats
    the Vary its 200 would carry (§15.4.5): so every answer says it. Names
    are kept once, in the case first seen; "*" already says everything.
    """
    names: dict[str, str] = {}
    for line in lines:
        for element in line.split(","):
            element = element.strip(" \t")
            if element:
                names.setdefault(element.lower(), element)
    if "*" not in names:
        names.setdefault(name.lower(), name)
    return "*" if "*" in names else ", ".join(names.values())
