"""Flask's routes in the model, in the order Werkzeug really tries them.

Werkzeug does not try rules in the order they were added. Its matcher
walks the path a segment at a time: static parts before converters,
converters by weight (int before str before path), and rules with the
very same parts in the order added. So ``/users/<name>`` never takes
``/users/me`` and ``<path:p>`` never takes a more specific rule, whatever
the order; what loses is a rule with the same parts as an earlier one, or
one behind a converter of the same weight (``<name>`` before
``<any(new,old):kind>``). A rule's rank is its place in a walk of
Werkzeug's own state machine in matching order, so the shared rules need
not know any of this.

Flask adds HEAD to GET and OPTIONS to every rule whose view does not
handle it: those are implicit. A rule added with no view function
(``app.add_url_rule("/", endpoint="index")``, as the Flask tutorial does
so that ``url_for("index")`` builds the blog's URL) is an alias, not a
route. So is Flask-RESTX's (and Flask-RESTPlus's) root placeholder: its
``Api`` adds ``render_root``, a view that only answers 404, at its prefix
or "/" so that ``url_for("root")`` builds, after its Swagger page, which is
at "/" too unless told otherwise. Blueprints are already flattened into the map; the endpoint
(``blueprint.view``) names the rule. A converter's ``to_python``
refusing a value does not pass the request on to another rule in
Werkzeug (it is a 404), so only the regex decides a literal.

Werkzeug's DispatcherMiddleware is the WSGI mount: it looks up its
prefixes, longest first, before the app sees the request, so each is a
mount ranked before every rule, and a Flask app it mounts is read too.
"""

from __future__ import annotations

import inspect
import re
from typing import Any, Final

from ._converters import converter
from ._definitions import definition_of
from ._model import (
    ANY,
    Converter,
    Definition,
    Methods,
    Param,
    Pattern,
    Piece,
    Route,
    RouteTable,
    Shape,
)
from ._patterns import segments_of
from ._target import TargetError, identify

# werkzeug.routing.rules._part_re, its converter part.
_PARAM: Final = re.compile(
    r"<(?:(?P<converter>[a-zA-Z_][a-zA-Z0-9_]*)(?:\((?P<arguments>.*?)\))?:)?"
    r"(?P<variable>[a-zA-Z_][a-zA-Z0-9_]*)>"
)
# What a DispatcherMiddleware prefix takes: itself, and everything below it.
_MOUNTED: Final = Converter(
    name="mounted",
    identity="werkzeug.middleware.dispatcher.DispatcherMiddleware",
    regex=".*",
    shape=Shape.TAIL,
    total=True,
    known=True,
)


def load_flask(app: Any, dispatchers: tuple[Any, ...] = ()) -> RouteTable:
    """The rules of a Flask app, and the mounts of the dispatchers around or inside it."""
    builder = _Builder()
    builder.app(app, "", frozenset(), dispatchers)
    return RouteTable("flask", tuple(builder.routes))


class _Builder:
    def __init__(self) -> None:
        self.routes: list[Route] = []

    def app(self, app: Any, prefix: str, inside: frozenset[int], outer: tuple[Any, ...]) -> None:
        """Add `app`'s dispatcher mounts (they come first), then its rules."""
        dispatchers = {id(d): d for d in (*outer, *_dispatchers_in(app))}.values()
        for dispatcher in dispatchers:
            # The longest prefix is looked up first.
            for path, mounted in sorted(dispatcher.mounts.items(), key=lambda m: -m[0].count("/")):
                index = self._mount(prefix + path, mounted, inside)
                try:
                    found = identify(mounted)
                except TargetError:  # a WSGI app of another kind: an opaque mount
                    continue
                if found.framework == "flask":
                    self.app(found.app, prefix + path, inside | {index}, found.dispatchers)
        url_map = app.url_map
        for rule in _matching_order(url_map):
            self._rule(app, rule, prefix, inside)

    def _mount(self, path: str, mounted: Any, inside: frozenset[int]) -> int:
        pieces: list[Piece] = [f"{path}/", Param("path", _MOUNTED)]
        return self._add(
            Pattern(f"{path}/*", segments_of(pieces)),
            ANY,
            definition_of(mounted),
            inside=inside,
            mount=True,
        )

    def _rule(self, app: Any, rule: Any, prefix: str, inside: frozenset[int]) -> None:
        url_map = rule.map
        host = rule.host if url_map.host_matching else rule.subdomain
        if host is None:
            host = url_map.default_subdomain
        methods: Methods = ANY if rule.methods is None else frozenset(rule.methods)
        implicit: set[str] = set()
        if rule.websocket:
            methods = frozenset({"WEBSOCKET"})
        elif methods is not ANY:
            if "GET" in methods:
                implicit.add("HEAD")
            if getattr(rule, "provide_automatic_options", False):
                implicit.add("OPTIONS")
        view = app.view_functions.get(rule.endpoint)
        definition = (
            Definition(rule.endpoint, name=rule.endpoint)
            if view is None
            else definition_of(view, rule.endpoint)
        )
        path = prefix + rule.rule
        self._add(
            _pattern(path, rule._converters, str(host)),
            methods,
            definition,
            inside=inside,
            implicit=frozenset(implicit),
            alias=view is None or _root_placeholder(view),
            mounted_at=prefix if inside else None,
        )

    def _add(
        self,
        pattern: Pattern,
        methods: Methods,
        definition: Definition,
        *,
        inside: frozenset[int],
        implicit: frozenset[str] = frozenset(),
        mount: bool = False,
        alias: bool = False,
        mounted_at: str | None = None,
    ) -> int:
        index = len(self.routes)
        self.routes.append(
            Route(
                index,
                index,
                pattern,
                methods,
                definition,
                implicit,
                mount,
                inside,
                alias=alias,
                mounted_at=mounted_at,
            )
        )
        return index


def _root_placeholder(view: Any) -> bool:
    """Whether `view` is Flask-RESTX's ``Api.render_root`` (Flask-RESTPlus's too): known by
    its shape, a method of that name bound to an ``Api`` that also renders the doc page."""
    owner = getattr(view, "__self__", None)
    return (
        inspect.ismethod(view)
        and view.__name__ == "render_root"
        and type(owner).__name__ == "Api"
        and callable(getattr(owner, "render_doc", None))
    )


def _pattern(path: str, converters: dict[str, Any], host: str) -> Pattern:
    pieces: list[Piece] = []
    position = 0
    for match in _PARAM.finditer(path):
        pieces.append(path[position : match.start()])
        name = match.group("converter") or "default"
        instance = converters[match.group("variable")]
        pieces.append(Param(match.group("variable"), converter("werkzeug", name, instance)))
        position = match.end()
    pieces.append(path[position:])
    # A catch-all that shares its segment (``/<path:p>.txt``) is left
    # opaque, with no matcher: it takes nothing but its own duplicate.
    segments = segments_of([piece for piece in pieces if piece != ""])
    return Pattern(path, segments, None if segments is not None else path, host=host)


def _matching_order(url_map: Any) -> list[Any]:
    """The rules in the order Werkzeug's state machine tries them for a path both match."""
    url_map.update()
    added = list(url_map.iter_rules())
    root = getattr(getattr(url_map, "_matcher", None), "_root", None)
    if root is None:  # not the state machine matcher: the order added
        return added
    ordered: list[Any] = []

    def visit(state: Any) -> None:
        ordered.extend(state.rules)
        for child in state.static.values():
            visit(child)
        for _, child in state.dynamic:  # sorted by weight by update()
            visit(child)

    visit(root)
    seen = {id(rule) for rule in ordered}
    return ordered + [rule for rule in added if id(rule) not in seen]


def _dispatchers_in(app: Any) -> list[Any]:
    """DispatcherMiddleware objects in ``app.wsgi_app``, down to the app's own method."""
    found: list[Any] = []
    wsgi: Any = app.wsgi_app
    seen: set[int] = set()
    while wsgi is not None and id(wsgi) not in seen:
        seen.add(id(wsgi))
        if inspect.ismethod(wsgi) and wsgi.__self__ is app:
            break
        if type(wsgi).__name__ == "DispatcherMiddleware" and hasattr(wsgi, "mounts"):
            found.append(wsgi)
        wsgi = getattr(wsgi, "app", None)
    return found
