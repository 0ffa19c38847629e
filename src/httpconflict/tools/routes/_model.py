"""The normalised route model that every framework loader produces.

A `Route` is a method set and a `Pattern`; a pattern is the path's
segments (the text between slashes), each made of pieces: literal text or
a `Param` with its `Converter`. The loaders (_starlette, _flask, _django)
translate their framework's routes into this model and number them in the
order the framework tries them (`Route.rank`), so the matching
(_patterns.py) and the rules (_rules.py) are written once for all three.

A path ``/users/me/`` has the segments ``("users", "me", "")``: the empty
last segment is the trailing slash, which every framework here treats as
a different path.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass, field

#: A method set standing for "every method" (a mount, a Django view, a raw ASGI endpoint).
ANY = None
Methods = frozenset[str] | None


class Shape(enum.Enum):
    """How much of a path a converter can take."""

    #: One non-empty segment, never a slash: int, str, uuid, slug, float.
    SEGMENT = "segment"
    #: One or more segments, slashes included: Starlette's and Django's
    #: ``path``, Werkzeug's ``<path:p>``, the rest of the path under a mount.
    PATH = "path"
    #: The rest of the path, possibly nothing: a WSGI dispatcher's mount
    #: answers its prefix itself as well as everything under it.
    TAIL = "tail"


@dataclass(frozen=True, slots=True)
class Converter:
    """What a path parameter accepts, as its framework decides it.

    Two converters are the same when their `identity` (class and regex)
    is: `name` is only how the pattern spells it.
    """

    name: str = field(compare=False)
    identity: str
    regex: str
    shape: Shape
    #: It takes every value of its shape: ``str`` every segment, ``path``
    #: every non-empty text that does not start with a slash.
    total: bool = False
    #: Its values are known (from the converter tables) to be non-empty and,
    #: for a SEGMENT, free of slashes; unknown converters are only ever
    #: tested against literal text and compared for identity.
    known: bool = False
    #: The framework's own conversion, False when it refuses a value that
    #: the regex matched (Django's ``to_python`` raising ValueError).
    check: Callable[[str], bool] | None = field(default=None, compare=False)
    #: For a regex taking every non-empty segment text free of some characters
    #: (DRF's ``[^/.]+``), those characters; None otherwise. Whether another
    #: converter's values are all free of them is decided on its regex.
    excluded: str | None = None

    def accepts(self, text: str) -> bool:
        """Whether this converter takes `text` (one segment, or a run of them for PATH)."""
        if re.fullmatch(self.regex, text) is None:
            return False
        return self.check is None or self.check(text)


@dataclass(frozen=True, slots=True)
class Param:
    """A path parameter; its name plays no part in matching."""

    name: str = field(compare=False)
    converter: Converter


Piece = str | Param


@dataclass(frozen=True, slots=True)
class Segment:
    """The part of a path between two slashes: literal text, parameters, or both."""

    pieces: tuple[Piece, ...]
    #: The text, when the segment is literal text only. Worked out once: the
    #: rules ask it of every pair of routes (millions on an app like NetBox).
    literal: str | None = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        texts = [piece for piece in self.pieces if isinstance(piece, str)]
        literal = "".join(texts) if len(texts) == len(self.pieces) else None
        object.__setattr__(self, "literal", literal)

    @property
    def param(self) -> Param | None:
        """The parameter, when the segment is one parameter and nothing else."""
        if len(self.pieces) == 1 and isinstance(self.pieces[0], Param):
            return self.pieces[0]
        return None

    def accepts(self, text: str) -> bool:
        """Whether this segment matches the literal segment `text`."""
        regex = "".join(
            re.escape(piece) if isinstance(piece, str) else f"({piece.converter.regex})"
            for piece in self.pieces
        )
        match = re.fullmatch(regex, text)
        if match is None:
            return False
        # Each converter checks its own value; group numbering follows the
        # pieces, skipping the groups inside a converter's regex.
        position = 1
        for piece in self.pieces:
            if isinstance(piece, Param):
                if not piece.converter.accepts(match.group(position)):
                    return False
                position += 1 + re.compile(piece.converter.regex).groups
        return True


@dataclass(frozen=True, slots=True)
class Pattern:
    """The paths a route matches.

    `segments` is None for a pattern the model does not take apart (a
    regex, a catch-all inside a segment): it is then known by `regex`
    only, and `matcher` (the framework's own test) decides literal paths.
    """

    #: As the framework spells it, for the report.
    text: str = field(compare=False)
    segments: tuple[Segment, ...] | None
    regex: str | None = None
    matcher: Callable[[str], bool] | None = field(default=None, compare=False)
    #: The host it is limited to (Starlette's Host, Werkzeug's subdomain
    #: or host); None for every host.
    host: str | None = None
    #: For an opaque pattern known to match every path that starts with the
    #: first text and holds the second after it (a Django regex without
    #: ``^``, which Django searches for: ``re_path(r"version/")``), the two
    #: texts; None otherwise.
    search: tuple[str, str] | None = None
    #: Its other segment lists, when its paths are of several shapes: a Django regex
    #: ending in ``/?`` (DRF's format suffixes) also matches its paths with one more
    #: trailing slash; one with an optional group (django-wiki's ``(?P<path>.+/|)``)
    #: matches its paths without the group and with it.
    more: tuple[tuple[Segment, ...], ...] = ()
    #: Its segments hold every path it matches, and maybe more (a Django include()
    #: prefix with a catch-all, which Django matches once, greedily): it can be shown to
    #: lose its paths to a route, never to take another's (its `matcher` decides literal
    #: paths).
    wider: bool = False
    #: Its segments hold only paths it matches, and maybe not all (a Django regex without
    #: ``^`` or ``$`` holding parameters, which Django searches for: read with whole
    #: segments before it and anything after it): it can be shown to take another's
    #: paths, and to lose its own only to a text Django searches for, found in `holds`.
    narrower: bool = False
    #: For a narrower pattern, what every path of each of its shapes is known to hold: it
    #: starts with the first text and holds the others after it, in order.
    holds: tuple[tuple[str, ...], ...] = ()

    @property
    def variants(self) -> tuple[tuple[Segment, ...], ...]:
        """Its segment lists: `segments`, then `more`."""
        if self.segments is None:
            return ()
        return (self.segments, *self.more)

    @property
    def literal_path(self) -> str | None:
        """The one path this pattern matches, when it has no parameter."""
        paths = self.literal_paths
        return paths[0] if len(paths) == 1 else None

    @property
    def literal_paths(self) -> tuple[str, ...]:
        """Every path this pattern matches, when it has no parameter; () otherwise."""
        paths: list[str] = []
        if self.narrower:
            return ()
        for segments in self.variants:
            texts = [segment.literal for segment in segments]
            if any(text is None for text in texts):
                return ()
            paths.append("/" + "/".join(text for text in texts if text is not None))
        return tuple(paths)


@dataclass(frozen=True, slots=True)
class Definition:
    """Where a route's handler is written."""

    handler: str
    file: str | None = None
    line: int | None = None
    #: The route's own name, when the framework has one (a Flask endpoint, a Django URL name).
    name: str | None = None

    @property
    def location(self) -> str:
        """``file:line``, or what is known of it."""
        if self.file is None:
            return "?"
        return self.file if self.line is None else f"{self.file}:{self.line}"


@dataclass(frozen=True, slots=True)
class Route:
    """One route (or mount) as its framework serves it."""

    #: Its position in the loader's list; `inside` names mounts by it.
    index: int
    #: The order the framework tries it in: lower first, for every path two routes both match.
    rank: int
    pattern: Pattern
    #: The methods it serves; ANY (None) for every method.
    methods: Methods
    definition: Definition
    #: The methods the framework added by itself (HEAD beside GET, Flask's OPTIONS).
    implicit: frozenset[str] = frozenset()
    #: A mount: it takes every path under its prefix, whatever it holds.
    mount: bool = False
    #: The mounts this route is inside.
    inside: frozenset[int] = frozenset()
    #: The key of its operation in its app's OpenAPI document (FastAPI), if it has one.
    openapi: str | None = None
    #: A rule with no view (Flask's ``app.add_url_rule("/", endpoint="index")``):
    #: it names a URL for ``url_for`` and serves nothing, so it is never a
    #: route that loses; one tried first still takes the requests (and Flask
    #: answers them 500, having no view to call). Flask-RESTX's root placeholder
    #: (``Api.render_root``, a 404 so that ``url_for("root")`` builds) is one too.
    alias: bool = False
    #: The prefix of the innermost mount it is inside ("" for a mount at
    #: the root), None outside every mount: the same handler can be
    #: registered in two apps (FastAPI's /docs in an app and in the app it
    #: mounts), and only this tells their routes apart in a report.
    mounted_at: str | None = None

    @property
    def explicit(self) -> Methods:
        """The methods it was declared with."""
        return ANY if self.methods is ANY else self.methods - self.implicit


def same_handler(one: Route, other: Route) -> bool:
    """Whether two routes are one handler registered twice in one app (a router included
    twice): the same function, file and line, in the same mounted app."""
    first, second = one.definition, other.definition
    return (
        (first.handler, first.file, first.line) == (second.handler, second.file, second.line)
        and first.file is not None
        and one.mounted_at == other.mounted_at
    )


class Kind(enum.StrEnum):
    """What is wrong with a route."""

    #: The same methods on the same path pattern: the later route is never served.
    DUPLICATE = "duplicate"
    #: An earlier route with a parameter or a catch-all takes every path of a later one.
    SHADOWED = "shadowed"
    #: A duplicate whose OpenAPI document describes the route that is never
    #: served (fastapi#5543): the docs show one handler, requests reach another.
    DOC_MISMATCH = "doc-mismatch"
    #: A mount takes every path under its prefix, a later route's or mount's too.
    MOUNT_OVERLAP = "mount-overlap"


@dataclass(frozen=True, slots=True)
class Finding:
    """`route` is never served `methods`: `by` takes those requests.

    `path`, when given, is the one literal spelling of the route's paths that `by` takes
    (``/articles/feed`` of ``^articles/feed/?$``): the route is served at its others.
    """

    kind: Kind
    methods: Methods
    route: Route
    by: Route
    path: str | None = None

    @property
    def lost(self) -> str:
        """What is never served, as the report and its acceptances name it."""
        return self.path or self.route.pattern.text


@dataclass(frozen=True, slots=True)
class RouteTable:
    """A loaded app's routes."""

    framework: str
    routes: tuple[Route, ...]
    #: What the loader could not analyse, for the report.
    notes: tuple[str, ...] = ()
