"""Building patterns from pieces, and deciding when one pattern takes another's paths.

`covers(a, b)` answers "does `a` match every path `b` matches?", walking
the two segment lists side by side:

- a literal segment of `b` is taken when `a`'s segment accepts the text
  (its converter's regex and the framework's own conversion decide:
  ``int`` refuses ``me``, ``str`` takes it);
- a parameter of `b` is taken by the same converter, by a regex parameter
  with the same regex (``(?P<pk>[0-9]+)`` takes ``<int:pk>``), or by a
  *total* segment converter (``str``, ``[^/]+``) when `b`'s converter is a
  known one, whose values are all non-empty and slash-free;
- a catch-all of `a` (``path``) takes one or more whole segments of `b`
  (none for a WSGI mount's tail); literal runs are tested as text, runs
  with parameters only by a total catch-all.

A pattern of several shapes (an optional trailing slash, an optional
group: `Pattern.more`) is several segment lists: `a` covers `b` when
each of `b`'s is covered by one of `a`'s.

A pattern whose segments hold more paths than it matches (`Pattern.wider`)
covers only literal paths its framework's matcher accepts, and is covered
like any other.

Anything else is "no": a pattern the model cannot take apart (a regex)
takes only literal paths its framework's own matcher accepts, and is
taken only by an identical one; but one known to be searched for
(`Pattern.search`: Django's ``re_path(r"version/")``) takes every
pattern that has its text in a literal run of every path. A pattern whose
segments hold only some of its paths (`Pattern.narrower`: a Django regex
with parameters that Django searches for) covers with those segments, and
is covered only by an identical one or by a searched text every path of
it holds (`Pattern.holds`). The rules report only what `covers`
proves, so an unknown is never reported.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ._containment import each_segment, takes_all
from ._model import Converter, Param, Pattern, Piece, Segment, Shape
from ._regex import keeps_out


def segments_of(pieces: Sequence[Piece]) -> tuple[Segment, ...] | None:
    """Split a path's pieces at its slashes; None when a catch-all shares its segment.

    The path starts with a slash, which is dropped: ``/users/me`` has the
    segments ``users`` and ``me``.
    """
    segments: list[list[Piece]] = [[]]
    for piece in pieces:
        if isinstance(piece, Param):
            segments[-1].append(piece)
            continue
        first, *rest = piece.split("/")
        current = segments[-1]
        if current and isinstance(current[-1], str):
            # Literal text split between two pieces (a prefix and a route) is one piece.
            current[-1] += first
        elif first:
            current.append(first)
        segments.extend([text] if text else [] for text in rest)
    if segments[0]:
        return None  # a path that does not start with a slash
    built: list[Segment] = []
    for parts in segments[1:]:
        segment = Segment(tuple(parts) if parts else ("",))
        catch_alls = [
            p for p in parts if isinstance(p, Param) and p.converter.shape is not Shape.SEGMENT
        ]
        if catch_alls and segment.param is None:
            return None
        built.append(segment)
    return tuple(built)


def covers(a: Pattern, b: Pattern) -> bool:
    """Whether `a` matches every path that `b` matches."""
    if a.host is not None and a.host != b.host:
        return False
    if a.wider:
        # Its segments hold paths it does not take: only its framework decides.
        literals = b.literal_paths
        return bool(literals) and a.matcher is not None and all(map(a.matcher, literals))
    if a.segments is None or b.segments is None or b.narrower:
        if a == b:
            return True
        literals = b.literal_paths
        if a.search is not None and not literals:
            return _holds_searched(a.search, b)
        if (a.segments is None or a.narrower) and literals and a.matcher is not None:
            return all(a.matcher(literal) for literal in literals)
        return False
    # Each path of b's is one of its variants' (with the trailing slash or without, ...).
    return all(any(_covers(mine, theirs) for mine in a.variants) for theirs in b.variants)


def _holds_searched(search: tuple[str, str], b: Pattern) -> bool:
    """Whether every path of `b` starts with ``search[0]`` and holds ``search[1]`` after it.

    Each literal run of `b`'s pattern is in every one of its paths, in
    order, whatever its parameters take; so is a searched text of its own.
    """
    prefix, text = search
    if b.search is not None:
        variants = [[b.search[0], b.search[1]]]
    elif b.narrower:
        variants = [list(runs) for runs in b.holds]
    elif b.segments is not None:
        variants = []
        for segments in b.variants:
            runs = [""]
            for segment in segments:
                runs[-1] += "/"
                for piece in segment.pieces:
                    if isinstance(piece, str):
                        runs[-1] += piece
                    else:
                        runs.append("")
            variants.append(runs)
    else:
        return False
    return bool(variants) and all(
        runs[0].startswith(prefix)
        and any(text in run for run in [runs[0][len(prefix) :], *runs[1:]])
        for runs in variants
    )


def same_paths(a: Pattern, b: Pattern) -> bool:
    """Whether `a` and `b` are the same pattern, parameter names aside."""
    return a == b


def _covers(a: tuple[Segment, ...], b: tuple[Segment, ...]) -> bool:
    if not a:
        return not b
    head = a[0].param
    if head is not None and head.converter.shape is not Shape.SEGMENT:
        least = 0 if head.converter.shape is Shape.TAIL else 1
        return any(
            _absorbs(head, b[:end]) and _covers(a[1:], b[end:]) for end in range(least, len(b) + 1)
        )
    return bool(b) and _segment_covers(a[0], b[0]) and _covers(a[1:], b[1:])


def _segment_covers(a: Segment, b: Segment) -> bool:
    if a == b:
        return True
    literal = b.literal
    own = a.literal
    if own is not None:
        # A literal segment takes only its own text: no regex needed to say
        # so, which on an app of thousands of literal routes is most pairs.
        return own == literal
    if literal is not None:
        return a.accepts(literal)
    param = a.param
    if param is None or param.converter.shape is not Shape.SEGMENT:
        return False
    excluded = param.converter.excluded
    if excluded is not None and not param.converter.total:
        # DRF's [^/.]+ takes every non-empty segment free of "." (and "/"): b's must be that.
        return all(
            not any(char in piece for char in excluded)
            if isinstance(piece, str)
            else piece.converter.known
            and piece.converter.shape is Shape.SEGMENT
            and _keeps_out(piece.converter, excluded)
            for piece in b.pieces
        ) and any(not isinstance(piece, str) or piece for piece in b.pieces)
    theirs = b.param
    if (
        theirs is not None
        and param.converter.check is None
        and theirs.converter.regex == param.converter.regex
        and theirs.converter.shape is param.converter.shape
    ):
        # The same regex, and no conversion of a's own to refuse what it matched: every value
        # of b's (``<int:pk>``, [0-9]+ and int()) is one a takes (``(?P<pk>[0-9]+)``).
        return True
    if (
        theirs is not None
        and param.converter.check is None
        and theirs.converter.shape is Shape.SEGMENT
        and takes_all(param.converter.regex, theirs.converter.regex)
    ):
        # A wider regex of characters: ``(?P<code>[-\w]+)`` takes every ``<uuid:code>``.
        return True
    if not param.converter.total:
        return False
    # str takes every non-empty, slash-free segment: b's must be nothing else.
    return all(
        isinstance(piece, str) or (piece.converter.known and piece.converter.shape is Shape.SEGMENT)
        for piece in b.pieces
    ) and any(not isinstance(piece, str) or piece for piece in b.pieces)


def _keeps_out(converter: Converter, chars: str) -> bool:
    """Whether no value of `converter` holds one of `chars`, decided on its regex."""
    return keeps_out(converter.regex, chars)


def _absorbs(catch_all: Param, run: tuple[Segment, ...]) -> bool:
    """Whether a catch-all takes every text the segments of `run` can make."""
    converter = catch_all.converter
    if not run:
        return converter.shape is Shape.TAIL
    texts = [segment.literal for segment in run]
    if all(text is not None for text in texts):
        return converter.accepts("/".join(text for text in texts if text is not None))
    repeated = each_segment(converter.regex) if converter.check is None else None
    if repeated is not None:
        return _each_absorbs(*repeated, run)
    if not (converter.total and converter.known):
        return False
    # A total catch-all takes any non-empty text that does not start with a
    # slash. A run starting with a parameter is non-empty and starts with
    # it; an inner catch-all is taken only by its own kind.
    if run[0].literal == "":
        return False
    for segment in run:
        for piece in segment.pieces:
            if isinstance(piece, Param) and not piece.converter.known:
                return False
            if (
                isinstance(piece, Param)
                and piece.converter.shape is not Shape.SEGMENT
                and piece.converter != converter
            ):
                return False
    return True


def _each_absorbs(atom: str, least: int, run: tuple[Segment, ...]) -> bool:
    r"""Whether ``(?:ATOM/)*`` (`least` 0) or ``+`` (1) takes every text `run` can make.

    The run ends with the empty segment of its trailing slash; each segment
    before it is text ATOM takes whole, or one parameter whose every value
    ATOM takes (``[\w\-]+`` takes each ``<int:...>``, ``<slug:...>`` and
    ``<uuid:...>``, not a ``<str:...>``, which may hold a ``.``).
    """
    *whole, last = run
    if last.literal != "" or len(whole) < least:
        return False
    for segment in whole:
        if segment.literal is not None:
            if re.fullmatch(atom, segment.literal) is None:
                return False
            continue
        param = segment.param
        if (
            param is None
            or not param.converter.known
            or param.converter.shape is not Shape.SEGMENT
            or not takes_all(atom, param.converter.regex)
        ):
            return False
    return True
