"""A Django regex that Django searches for, read as some of its paths.

Django matches a ``re_path()`` regex with ``re.search`` unless it is
anchored: a view's regex without ``^`` matches wherever it is found in
what is left of the path, one without ``$`` whatever follows it
(``re_path(r"(?P<year>[0-9]{4})/notes/")`` takes ``/2024/notes/`` and
``/a/b2024/notes/x``); an include()'s prefix without ``^`` is searched
for once, and what follows its first match is matched against the
patterns inside.

Such a pattern is spelled with two markers where text the regex does not
say may stand (`ANY_TEXT`, `SKIPPED`), and read two ways:

- its *segments* hold only paths Django serves with it (`Pattern.narrower`):
  `ANY_TEXT` after a slash is whole segments before what it matched (none
  or more, a catch-all that may take none) or everything after it (a
  catch-all), and nothing elsewhere; `SKIPPED`, before an include()'s
  prefix, is nothing, since a prefix found earlier in the path would be
  matched there instead. So the pattern can be shown to take a later
  route's paths, never to lose its own to a route with parameters;
- its *runs*, the texts between its parameters and markers, are held by
  every path it serves, in order (`Pattern.holds`): what shows it losing
  its paths to a text Django searches for (``re_path(r"version/")``).
"""

from __future__ import annotations

from typing import Final

from ._model import Converter, Param, Piece, Segment, Shape
from ._patterns import segments_of
from ._regex import optional_variants, pieces_of, split_optional_slash

#: Any text, before or after what a searched view's regex matched.
ANY_TEXT: Final = Param("*", Converter("*", "searched:any", ".*", Shape.PATH))
#: Any text before an include()'s prefix that Django searches for; read as none.
SKIPPED: Final = Param("*", Converter("*", "searched:skipped", ".*", Shape.PATH))

# The catch-alls ANY_TEXT is read as. Each takes every text of its segments (total), and
# is only ever the pattern that covers (known: it absorbs runs with parameters).
_BEFORE: Final = Param("*", Converter("*", "re:(?:.*/)?", ".*", Shape.TAIL, total=True, known=True))
_AFTER: Final = Param("*", Converter("*", "re:.*", ".*", Shape.PATH, total=True, known=True))


def searched_spellings(regex: str) -> list[list[Piece]] | None:
    """A view's regex not anchored at both ends as the pieces of each of its spellings, with
    `ANY_TEXT` where Django lets any text stand; None when it cannot be read."""
    start = regex.startswith("^")
    body = regex[1:] if start else regex
    end = True
    if body.endswith("\\Z"):
        body = body[:-2]
    elif body.endswith("$") and not body.endswith("\\$"):
        body = body[:-1]
    else:
        end = False
        body, _ = split_optional_slash(body)  # with the slash or without: ANY_TEXT has both
    if start and end:
        return None
    spellings = optional_variants(body)
    if spellings is None:
        return None
    read: list[list[Piece]] = []
    for spelled in spellings:
        pieces = pieces_of(spelled)
        if pieces is None or not pieces:
            return None
        read.append([*([] if start else [ANY_TEXT]), *pieces, *([] if end else [ANY_TEXT])])
    return read


def searched_parts(
    variants: list[list[Piece]],
) -> tuple[list[tuple[Segment, ...]], tuple[tuple[str, ...], ...]] | None:
    """The segment lists holding paths Django serves with a pattern spelled with markers,
    and each spelling's runs of text; None when its segments cannot be built."""
    built: list[tuple[Segment, ...]] = []
    for pieces in variants:
        for spelled in _served(pieces):
            segments = segments_of([piece for piece in spelled if piece != ""])
            if segments is None:
                return None
            if segments not in built:
                built.append(segments)
    return built, tuple(_runs(pieces) for pieces in variants)


def _served(pieces: list[Piece]) -> list[list[Piece]]:
    """`pieces` with its markers read as catch-alls of whole segments, or as nothing."""
    spelled: list[list[Piece]] = [[]]
    for position, piece in enumerate(pieces):
        if piece is SKIPPED:
            continue
        if piece is not ANY_TEXT:
            for pieces_so_far in spelled:
                pieces_so_far.append(piece)
            continue
        last = position == len(pieces) - 1
        if _ends_segment(spelled[0]):
            for pieces_so_far in spelled:
                pieces_so_far.extend([_AFTER] if last else [_BEFORE, "/"])
        elif last:
            # After text that ends no segment: nothing more, or a slash and anything.
            spelled = [*spelled, *([*more, "/", _AFTER] for more in spelled)]
    return spelled


def _ends_segment(pieces: list[Piece]) -> bool:
    """Whether `pieces` end with a slash."""
    texts = [piece for piece in pieces if piece != ""]
    return bool(texts) and isinstance(texts[-1], str) and texts[-1].endswith("/")


def _runs(pieces: list[Piece]) -> tuple[str, ...]:
    """The texts between the parameters and markers of `pieces`, in order."""
    runs = [""]
    for piece in pieces:
        if isinstance(piece, str):
            runs[-1] += piece
        else:
            runs.append("")
    return tuple(runs)
