"""A Django ``re_path()`` regex taken apart into the model's pieces.

Django's routers write regexes with parameters (DRF's
``^users/(?P<pk>[^/.]+)/$``, its format suffixes
``\\.(?P<format>[a-z0-9]+)/?$``, the admin's ``(?P<app_label>auth|sites)``).
Kept whole, such a pattern could only be tested against literal paths:
two of them, or one and a ``path()`` route with a converter, were never
compared. Here the regex is read as a sequence of literal text and
*atoms*: a group (named or not), a character class, ``.``, a class
escape (``\\d``), each with its quantifier, or a quantified character.
Each atom becomes a `Param` whose converter's regex is the atom's own
text, so a segment is tested with the regex Django runs.

What a regex parameter may take is decided from its text, and only
soundly: it is *slash-free* when nothing in it can match ``/`` (no ``.``,
no ``\\W``/``\\S``/``\\D``, every class keeping ``/`` out), and then a
segment parameter; otherwise a path parameter. It is *known* (see
`Converter.known`) only when slash-free and unable to match the empty
text, which ``re`` itself answers. A regex with an alternation at its
top level, an anchor or a lookaround inside, a back reference or inline
flags is not taken apart (None): the caller keeps it whole.

An optional trailing slash (``/?`` before the end, as every DRF format
suffix has) makes two paths of one pattern, with the slash and without:
`split_optional_slash` says so, and the loader gives the pattern both.
So does an optional group (django-wiki's ``(?P<path>.+/|)_edit/``, or
``(X)?``): `optional_variants` spells the regex without the group and
with it, and each is read as above. A group whose text ends in a slash
is read as the group, then the slash (``(?P<path>.+)/``): the slash ends
a segment, and the group is a catch-all of whole segments.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final

from ._model import Converter, Param, Piece, Shape

_QUANTIFIER: Final = re.compile(r"(?:[*+?]|\{\d*(?:,\d*)?\})[?+]?")
#: Class escapes that never match a slash, and those that may.
_SLASH_FREE_ESCAPES: Final = frozenset("dws")
_SLASHY_ESCAPES: Final = frozenset("DWS")
#: Converter regexes that take every value of their shape, as Django's own str and path.
_TOTAL: Final = {"[^/]+": Shape.SEGMENT, ".+": Shape.PATH}


def split_optional_slash(body: str) -> tuple[str, bool]:
    """`body` without a trailing ``/?``, and whether it had one."""
    for ending in ("\\/?", "/?"):
        if body.endswith(ending) and not body.endswith("\\" + ending):
            return body[: -len(ending)], True
    return body, False


#: The most spellings `optional_variants` makes of one regex.
_VARIANTS_MAX: Final = 8


def optional_variants(body: str) -> list[str] | None:
    """`body` spelled once per choice of its optional groups (``(X|)``, ``(X)?``): without
    the group, then with ``X``; ``[body]`` when it has none; None past eight spellings."""
    for position, end in _units(body):
        chosen = _optional(body, position, end) if body[position] == "(" else None
        if chosen is None:
            continue
        present, after = chosen
        rest = optional_variants(body[after:])
        if rest is None or 2 * len(rest) > _VARIANTS_MAX:
            return None
        head = body[:position]
        return [head + tail for tail in rest] + [head + present + tail for tail in rest]
    return [body]


def _units(text: str) -> Iterator[tuple[int, int]]:
    """Where each top-level unit of a regex starts and ends: an escape, a class, a group,
    or a single character."""
    position = 0
    while position < len(text):
        char = text[position]
        end = None
        if char == "\\":
            end = position + 2
        elif char == "[":
            end = _class_end(text, position)
        elif char == "(":
            end = _group_end(text, position)
        end = position + 1 if end is None else end
        yield position, end
        position = end


def _optional(body: str, start: int, end: int) -> tuple[str, int] | None:
    """For the group at ``body[start:end]``, when it is optional: the group as it is when
    present, and where the text after it (and its quantifier) starts; else None."""
    opening = _opening(body[start:end])
    if opening is None:
        return None
    quantifier = _QUANTIFIER.match(body, end)
    spelled = quantifier.group() if quantifier else ""
    alternatives = _split_top(body[start + len(opening) : end - 1])
    taken = [alternative for alternative in alternatives if alternative]
    if not taken:
        return None
    if spelled in ("?", "??"):
        return body[start:end], end + len(spelled)
    if spelled or len(taken) == len(alternatives):
        return None
    return opening + "|".join(taken) + ")", end


def _opening(group: str) -> str | None:
    """How a group opens: ``(?P<name>``, ``(?:`` or ``(``; None for any other ``(?``."""
    named = _NAMED.match(group)
    if named is not None:
        return named.group()
    if group.startswith("(?:"):
        return "(?:"
    return None if group.startswith("(?") else "("


def _split_top(inner: str) -> list[str]:
    """A group's text split at its top-level ``|``."""
    bars = [position for position, end in _units(inner) if inner[position:end] == "|"]
    starts = [0, *(bar + 1 for bar in bars)]
    ends = [*bars, len(inner)]
    return [inner[start:end] for start, end in zip(starts, ends, strict=True)]


def _slash_out(group: str) -> tuple[str, str]:
    """A group whose text ends in a slash, as the group without it and the slash after it
    (``(?P<path>.+/)``: ``(?P<path>.+)`` and ``/``); else the group and nothing."""
    opening = _opening(group)
    if opening is None:
        return group, ""
    inner = group[len(opening) : -1]
    if (
        len(inner) < 2
        or not inner.endswith("/")
        or inner.endswith("\\/")
        or len(_split_top(inner)) > 1
    ):
        return group, ""
    return opening + inner[:-1] + ")", "/"


def pieces_of(body: str) -> list[Piece] | None:
    """The pieces of an anchor-free regex `body`; None when it is more than text and atoms."""
    pieces: list[Piece] = []
    text: list[str] = []
    position = 0
    while position < len(body):
        char = body[position]
        if char == "\\":
            if position + 1 >= len(body):
                return None
            escaped = body[position + 1]
            end = position + 2
            if escaped.isalnum():
                if escaped.lower() not in _SLASH_FREE_ESCAPES:
                    return None  # an anchor (\A, \Z, \b), a back reference, \x.., \N{...}
                atom_end = end
            else:
                atom_end = end
                if _QUANTIFIER.match(body, end) is None:
                    text.append(escaped)
                    position = end
                    continue
        elif char == "[":
            found = _class_end(body, position)
            if found is None:
                return None
            atom_end = found
        elif char == "(":
            found = _group_end(body, position)
            if found is None:
                return None
            atom_end = found
        elif char == ".":
            atom_end = position + 1
        elif char in "|^$)]{}*+?":
            return None
        else:
            if _QUANTIFIER.match(body, position + 1) is None:
                text.append(char)
                position += 1
                continue
            atom_end = position + 1
        quantifier = _QUANTIFIER.match(body, atom_end)
        end = quantifier.end() if quantifier else atom_end
        atom, slash = body[position:atom_end], ""
        if char == "(" and end == atom_end:
            atom, slash = _slash_out(atom)
        param = _param(atom, body[atom_end:end], len(pieces))
        if param is None:
            return None
        if text:
            pieces.append("".join(text))
            text = []
        pieces.append(param)
        if slash:
            text.append(slash)
        position = end
    if text:
        pieces.append("".join(text))
    return pieces


def _class_end(body: str, start: int) -> int | None:
    """The index after the ``]`` closing the class that opens at `start`."""
    position = start + 1
    if body.startswith("^", position):
        position += 1
    if body.startswith("]", position):
        position += 1  # a ] first in a class is a character
    while position < len(body):
        char = body[position]
        if char == "\\":
            position += 2
            continue
        if char == "[":
            return None  # a nested set (a FutureWarning in re): not read
        if char == "]":
            return position + 1
        position += 1
    return None


def _group_end(body: str, start: int) -> int | None:
    """The index after the ``)`` closing the group that opens at `start`."""
    depth = 0
    position = start
    while position < len(body):
        char = body[position]
        if char == "\\":
            position += 2
            continue
        if char == "[":
            end = _class_end(body, position)
            if end is None:
                return None
            position = end
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return position + 1
        position += 1
    return None


_NAMED: Final = re.compile(r"\(\?P<(?P<name>\w+)>")


def _param(atom: str, quantifier: str, index: int) -> Param | None:
    """An atom and its quantifier as a parameter; None for a group the model cannot read."""
    name = f"_{index}"
    if atom.startswith("("):
        named = _NAMED.match(atom)
        if named is not None:
            name, inner = named.group("name"), atom[named.end() : -1]
        elif atom.startswith("(?:"):
            inner = atom[3:-1]
        elif atom.startswith("(?"):
            return None  # a lookaround, inline flags, a back reference (?P=...)
        else:
            inner = atom[1:-1]
        if _unreadable(inner):
            return None
        regex = f"(?:{inner}){quantifier}" if quantifier else inner
    else:
        regex = atom + quantifier
    try:
        compiled = re.compile(regex)
    except re.error:
        return None
    if compiled.groups:
        # Groups inside a parameter are only grouping: count none, match the same.
        plain = _non_capturing(regex)
        if plain is None:
            return None
        regex = plain
    slash_free = keeps_out(regex, "/")
    empty = re.fullmatch(regex, "") is not None
    shape = Shape.SEGMENT if slash_free else Shape.PATH
    return Param(
        name,
        Converter(
            name=name,
            identity=f"re:{regex}",
            regex=regex,
            shape=shape,
            total=_TOTAL.get(regex) is shape,
            known=not empty and (slash_free or shape is Shape.PATH),
            excluded=excluded_of(regex),
        ),
    )


def _unreadable(inner: str) -> bool:
    """Whether a group's text holds what changes matching beyond itself."""
    return bool(re.search(r"\(\?(?:P=|[=!<]|[aiLmsux-]+[:)])|\\\d|(?<!\\)[$^](?![^\[]*\])", inner))


def _non_capturing(regex: str) -> str | None:
    """`regex` with each capturing group made non-capturing."""
    out: list[str] = []
    position = 0
    while position < len(regex):
        char = regex[position]
        if char == "\\":
            out.append(regex[position : position + 2])
            position += 2
            continue
        if char == "[":
            end = _class_end(regex, position)
            if end is None:
                return None
            out.append(regex[position:end])
            position = end
            continue
        if char == "(":
            named = _NAMED.match(regex, position)
            if named is not None:
                out.append("(?:")
                position = named.end()
                continue
            if not regex.startswith("(?", position):
                out.append("(?:")
                position += 1
                continue
        out.append(char)
        position += 1
    return "".join(out)


def keeps_out(regex: str, chars: str) -> bool:
    """Whether nothing `regex` matches can hold one of `chars` (decided on its text,
    conservatively: False when in doubt)."""
    position = 0
    while position < len(regex):
        char = regex[position]
        if char == "\\":
            if _escape_may_match(regex[position + 1 : position + 2], chars):
                return False
            position += 2
            continue
        if char == "[":
            end = _class_end(regex, position)
            if end is None or not _class_keeps_out(regex[position + 1 : end - 1], chars):
                return False
            position = end
            continue
        if char == "." or char in chars:
            return False
        position += 1
    return True


def _escape_may_match(escaped: str, chars: str) -> bool:
    """Whether the escape ``\\<escaped>`` may match one of `chars`."""
    if escaped in _SLASHY_ESCAPES or escaped in ("", "N", "x", "u", "U", "0"):
        return True  # \D, \W, \S, and a character by its code: anything
    if escaped == "d":
        return any(char.isdigit() for char in chars)
    if escaped == "w":
        return any(char.isalnum() or char == "_" for char in chars)
    if escaped == "s":
        return any(char.isspace() for char in chars)
    return escaped in chars


def _class_keeps_out(inner: str, chars: str) -> bool:
    """Whether the character class ``[inner]`` takes none of `chars`."""
    negated = inner.startswith("^")
    members = inner[1:] if negated else inner
    named: set[str] = set()  # of `chars`, those the class names for sure
    maybe = False  # it names something that may be one of `chars`
    position = 0
    while position < len(members):
        char = members[position]
        if char == "\\":
            escaped = members[position + 1 : position + 2]
            if escaped in chars:
                named.add(escaped)
            elif _escape_may_match(escaped, chars):
                maybe = True
            position += 2
            continue
        if position + 2 < len(members) and members[position + 1] == "-":
            last = members[position + 2]
            if last == "\\":
                return False  # a range ending in an escape: not read
            named.update(c for c in chars if ord(char) <= ord(c) <= ord(last))
            position += 3
            continue
        if char in chars:
            named.add(char)
        position += 1
    if negated:
        # A negated class keeps out exactly what it names.
        return named == set(chars)
    return not named and not maybe


def excluded_of(regex: str) -> str | None:
    """The characters ``[^...]+`` keeps out, when it lists them one by one and the slash
    is one of them; None for any other regex."""
    if not (regex.startswith("[^") and regex.endswith("]+")):
        return None
    end = _class_end(regex, 0)
    if end != len(regex) - 1:
        return None
    members: list[str] = []
    position = 2
    while position < end - 1:
        char = regex[position]
        if char == "\\":
            escaped = regex[position + 1 : position + 2]
            if escaped.isalnum():
                return None
            members.append(escaped)
            position += 2
            continue
        if char == "-" and 2 < position < end - 2:
            return None  # a range
        members.append(char)
        position += 1
    return "".join(members) if "/" in members else None
