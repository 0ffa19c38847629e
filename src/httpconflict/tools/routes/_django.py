"""Django's URL patterns in the model.

Django tries its URL patterns in order and takes the first that matches
the path, whatever the method (the view answers 405 itself), so every
route here is for ANY method and its rank is its place in the walk.
include() is not a mount: when nothing under its prefix matches, Django
goes on with the next pattern, so included patterns are flattened, their
prefixes joined, their URL names qualified by their namespaces.

``path()`` routes become segments, each converter with its regex and its
``to_python`` (a ValueError passes the path on, as Django does). A
``re_path()`` regex anchored as Django anchors it (``^`` and, for a
view, ``$``) is taken apart too (_regex.py): its literal text, and each
group or class as a parameter matched by its own regex, so DRF's router
routes (``^users/(?P<pk>[^/.]+)/$``) are compared like ``path()``
routes; an optional trailing slash (``/?$``) gives the pattern both
paths, an optional group (django-wiki's ``^(?P<path>.+/|)_edit/$``) its
paths without the group and with it. A view's regex ending in ``$`` is
matched with the whole path, ``^`` or not, by the Djangos that do so.
A regex that cannot be read is kept whole and decided conservatively:
it takes a later route only when that route is a literal path and
Django's own matching of the whole chain (root, includes, pattern)
accepts it, and is taken only by the very same regex.

``i18n_patterns()`` puts its patterns behind a LocalePrefixPattern, which
matches the active language's prefix (``en/``; nothing for the default
language with ``prefix_default_language=False``), and LocaleMiddleware
makes the language of a path's prefix the active one. It is read as a
parameter taking every code of ``LANGUAGES`` (and as nothing too, for a
default language without a prefix): a route outside the patterns that
takes ``en/help/`` leaves ``de/help/`` served, so it shadows nothing,
while one behind the prefix shadows in every language. With one
language, the prefix is its literal. Read as opaque, every route behind
it was compared with nothing but its own duplicate (wger: 148 of its
473 routes).
"""

from __future__ import annotations

import functools
import os
import re
from types import ModuleType
from typing import Any, Final

from ._converters import accepted_by, converter
from ._definitions import definition_of
from ._model import ANY, Converter, Param, Pattern, Piece, Route, RouteTable, Segment, Shape
from ._patterns import segments_of
from ._regex import optional_variants, pieces_of, split_optional_slash
from ._searched import SKIPPED, searched_parts, searched_spellings

# django.urls.resolvers._PATH_PARAMETER_COMPONENT_RE
_PARAM: Final = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<parameter>[^>]+)>")
_REGEX_SPECIAL: Final = frozenset(".^$*+?{}[]|()")


def load_django(app: Any) -> RouteTable:
    """The URL patterns of a Django project, from its settings module or its WSGI/ASGI handler."""
    if isinstance(app, ModuleType):
        # The settings named on the command line are the ones to read.
        os.environ["DJANGO_SETTINGS_MODULE"] = app.__name__
        import django

        django.setup()
    from django.urls import URLPattern, URLResolver, get_resolver

    root = get_resolver()
    routes: list[Route] = []

    def walk(patterns: Any, chain: tuple[Any, ...], namespaces: tuple[str, ...]) -> None:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                inner = (*namespaces, entry.namespace) if entry.namespace else namespaces
                walk(entry.url_patterns, (*chain, entry.pattern), inner)
            elif isinstance(entry, URLPattern):
                callback = entry.callback
                view = getattr(callback, "view_class", None) or getattr(callback, "cls", callback)
                name = ":".join((*namespaces, entry.name)) if entry.name else None
                index = len(routes)
                pattern = _pattern(root.pattern, (*chain, entry.pattern))
                routes.append(Route(index, index, pattern, ANY, definition_of(view, name)))

    walk(root.url_patterns, (), ())
    return RouteTable("django", tuple(routes))


def _pattern(root: Any, chain: tuple[Any, ...]) -> Pattern:
    from django.urls.resolvers import LocalePrefixPattern, RegexPattern, RoutePattern

    text = "/" + "".join(_display(level) for level in chain)
    # The pattern's spellings: one, or one per choice of a regex's optional parts.
    variants: list[list[Piece]] = [["/"]]
    wider = False
    narrower = False  # spelled with markers where Django searches (_searched.py)
    for level in chain:
        if isinstance(level, RoutePattern):
            for pieces in variants:
                pieces.extend(_route_pieces(level))
            continue
        literal = None
        if isinstance(level, RegexPattern):
            whole = level._is_endpoint and _endpoint_fullmatch()
            literal = literal_of(level._regex, endpoint=level._is_endpoint, fullmatch=whole)
            searched = searched_of(level._regex) if level._is_endpoint else None
            if literal is None and searched is not None and level is chain[-1]:
                after = _after(variants[0], searched) if len(variants) == 1 else None
                return _opaque(text, root, chain, after)
            if literal is None:
                read = _regex_variants(level._regex, endpoint=level._is_endpoint, whole=whole)
                if read is None:
                    read = _searched_variants(level._regex, endpoint=level._is_endpoint)
                    narrower = narrower or read is not None
                if read is None:
                    return _opaque(text, root, chain)
                spellings, exact = read
                wider = wider or not exact
                variants = [[*pieces, *more] for pieces in variants for more in spellings]
                continue
        elif isinstance(level, LocalePrefixPattern):
            prefixes = _language_prefixes(level)
            if prefixes is None:
                literal = level.language_prefix
            else:
                variants = [[*pieces, *more] for pieces in variants for more in prefixes]
                continue
        if literal is None:
            return _opaque(text, root, chain)
        for pieces in variants:
            pieces.append(literal)
    if narrower:
        parts = None if wider else searched_parts(variants)
        if parts is None:
            return _opaque(text, root, chain)
        served, holds = parts
        # Its segments hold only some of its paths: Django decides literal paths.
        matcher = _opaque(text, root, chain).matcher
        return Pattern(
            text,
            served[0],
            more=tuple(served[1:]),
            matcher=matcher,
            narrower=True,
            holds=holds,
        )
    built: list[tuple[Segment, ...]] = []
    for pieces in variants:
        segments = segments_of([piece for piece in pieces if piece != ""])
        if segments is None:
            return _opaque(text, root, chain)
        if segments not in built:
            built.append(segments)
    if wider:
        # Its segments hold more than Django serves: Django decides literal paths.
        matcher = _opaque(text, root, chain).matcher
        return Pattern(text, built[0], more=tuple(built[1:]), matcher=matcher, wider=True)
    return Pattern(text, built[0], more=tuple(built[1:]))


def _regex_variants(
    regex: str, *, endpoint: bool, whole: bool
) -> tuple[list[list[Piece]], bool] | None:
    """A ``re_path()`` regex anchored at its start (and, for an endpoint, at its end) as the
    pieces of each of its spellings: one, or one per choice of an optional trailing slash
    or optional group; and whether they hold exactly the paths Django matches (else more).
    None when it cannot be read. `whole`: Django matches an endpoint's regex ending in
    ``$`` with the whole path."""
    body = _anchored(regex, endpoint=endpoint, fullmatch=whole)
    if body is None:
        return None
    body, slashed = split_optional_slash(body) if endpoint else (body, False)
    spellings = optional_variants(body)
    if spellings is None:
        return None
    variants: list[list[Piece]] = []
    exact = True
    for spelled in spellings:
        pieces = pieces_of(spelled)
        if pieces is None:
            return None
        # Django matches an include()'s prefix once, then the rest of the path against what
        # is inside: the two never share a segment when the prefix ends in a slash and none
        # of its parameters takes one, so the prefix ends at the same slash in every path.
        # Otherwise (django-wiki's (?P<path>.+/|)_plugin/images/, matched greedily) the
        # prefix and the rest, joined, hold every path Django serves there, and more.
        # A prefix's optional group is tried once too: its first choice that lets the
        # prefix match is the one kept.
        exact = exact and (
            endpoint
            or (
                len(spellings) == 1
                and spelled.endswith("/")
                and all(isinstance(p, str) or p.converter.shape is Shape.SEGMENT for p in pieces)
            )
        )
        variants.append(pieces)
        if slashed:
            variants.append([*pieces, "/"])
    return variants, exact


def _searched_variants(regex: str, *, endpoint: bool) -> tuple[list[list[Piece]], bool] | None:
    """A ``re_path()`` regex Django searches for, spelled with markers (_searched.py): a
    view's regex not anchored at both ends, or an include()'s prefix without ``^`` read as
    anchored (its first match, when it is found at the start) when that reading is exact."""
    if endpoint:
        spellings = searched_spellings(regex)
        return None if spellings is None else (spellings, True)
    if regex.startswith("^"):
        return None
    read = _regex_variants("^" + regex, endpoint=False, whole=False)
    if read is None or not read[1]:
        return None
    return [[SKIPPED, *pieces] for pieces in read[0]], True


@functools.cache
def _endpoint_fullmatch() -> bool:
    """Whether this Django matches a view's regex ending in ``$`` with the whole path, ``^``
    or not (Django 5 does; asked of it, not assumed), rather than searching for it."""
    from django.urls.resolvers import RegexPattern

    return RegexPattern(r"b$", is_endpoint=True).match("ab") is None


def _anchored(regex: str, *, endpoint: bool, fullmatch: bool = False) -> str | None:
    """A ``re_path()`` regex without its anchors, when Django matches it from the start and,
    for a view, to the end; None when it is searched for. With `fullmatch`, Django matches
    a view's regex ending in ``$`` with the whole path, ``^`` or not."""
    if regex.startswith("^"):
        body = regex[1:]
    elif endpoint and fullmatch and regex.endswith("$") and not regex.endswith("\\$"):
        body = regex
    else:
        return None
    if body.endswith("\\Z"):
        return body[:-2]
    if body.endswith("$") and not body.endswith("\\$"):
        return body[:-1]
    return None if endpoint else body


def _language_prefixes(level: Any) -> list[list[Piece]] | None:
    """The spellings of an ``i18n_patterns()`` prefix: a parameter taking every language's
    code, and nothing for the default language when it has no prefix. None with one language:
    the prefix is a literal (or nothing), as Django matches it."""
    from django.conf import settings

    codes = [str(code) for code, _ in settings.LANGUAGES]
    if len(codes) < 2:
        return None
    default = str(settings.LANGUAGE_CODE)
    prefixed = [code for code in codes if code != default or level.prefix_default_language]
    spellings: list[list[Piece]] = []
    if prefixed:
        regex = "|".join(re.escape(code) for code in sorted(prefixed))
        language = Converter(
            name="language",
            identity=f"i18n:{regex}",
            regex=f"(?:{regex})",
            shape=Shape.SEGMENT,
            known=True,
        )
        spellings.append([Param("language", language), "/"])
    if not level.prefix_default_language:
        spellings.append([])
    return spellings


def _route_pieces(level: Any) -> list[Piece]:
    route = str(level._route)
    pieces: list[Piece] = []
    position = 0
    for match in _PARAM.finditer(route):
        pieces.append(route[position : match.start()])
        instance = level.converters[match.group("parameter")]
        check = accepted_by(instance.to_python, ValueError)
        name = match.group("converter") or "str"
        pieces.append(Param(match.group("parameter"), converter("django", name, instance, check)))
        position = match.end()
    pieces.append(route[position:])
    return pieces


def _after(pieces: list[Piece], searched: tuple[str, str]) -> tuple[str, str] | None:
    """`searched` behind the literal prefix `pieces`; None when the prefix has a parameter."""
    if not all(isinstance(piece, str) for piece in pieces):
        return None
    prefix = "".join(piece for piece in pieces if isinstance(piece, str))
    return (prefix + searched[0], searched[1])


def _opaque(
    text: str, root: Any, chain: tuple[Any, ...], search: tuple[str, str] | None = None
) -> Pattern:
    """A pattern kept whole: Django's own matching decides literal paths; `search`
    says what it is known to take besides (`Pattern.search`)."""

    def matcher(path: str) -> bool:
        rest = path
        for level in (root, *chain):
            found = level.match(rest)
            if found is None:
                return False
            rest = found[0]
        return True

    identity = "".join(str(level) for level in chain)
    return Pattern(text, None, identity, matcher, search=search)


def literal_of(regex: str, *, endpoint: bool, fullmatch: bool = False) -> str | None:
    """The path a ``re_path()`` regex matches, when it matches one literal path only.

    Django searches with these regexes: without ``^`` one matches anywhere,
    and an endpoint without ``$`` matches every path it starts, so neither
    is literal, unless Django matches a view's regex ending in ``$`` with
    the whole path (`fullmatch`: Django 5 does). An include()'s prefix is a
    prefix by design.
    """
    if regex == "" and not endpoint:
        return ""  # searched for, an empty regex matches at the start: no prefix at all
    body = _anchored(regex, endpoint=endpoint, fullmatch=fullmatch)
    return None if body is None else _plain(body)


def searched_of(regex: str) -> tuple[str, str] | None:
    """What an endpoint's ``re_path()`` regex with no end anchor matches, when it is text.

    Django searches for it in what is left of the path: ``version/``
    matches every path holding that text, ``^docs/`` every path starting
    with it. Returned as (text the rest starts with, text it then holds);
    None when the regex is more than text, or anchored at its end.
    """
    if regex.endswith(("$", "\\Z")) and not regex.endswith("\\$"):
        return None
    anchored = regex.startswith("^")
    text = _plain(regex[1:] if anchored else regex)
    if not text:
        return None
    return (text, "") if anchored else ("", text)


def _plain(body: str) -> str | None:
    """The text a regex matches, when it matches that text only."""
    text: list[str] = []
    escaped = False
    for char in body:
        if escaped:
            if char.isalnum():  # \d, \w, \Z: a class or an anchor, not a character
                return None
            text.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in _REGEX_SPECIAL:
            return None
        else:
            text.append(char)
    return None if escaped else "".join(text)


def _display(level: Any) -> str:
    """A pattern level as a path: a regex without its anchors."""
    text = str(level)
    if text.startswith("^"):
        text = text[1:]
    for anchor in ("\\Z", "$"):
        if text.endswith(anchor):
            return text[: -len(anchor)]
    return text
