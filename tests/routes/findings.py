"""Helpers: the rules run on an app object, findings as comparable rows, which
handler a Starlette or FastAPI app really serves a request with, and the command."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from httpconflict.tools.routes._model import Finding
from httpconflict.tools.routes._report import methods_list
from httpconflict.tools.routes._rules import find_problems
from httpconflict.tools.routes._run import routes_of
from httpconflict.tools.routes._target import identify

#: The repository, where ``tests.routes.apps`` can be imported from.
ROOT = Path(__file__).parent.parent.parent

#: kind, methods, the route never served (path, handler), the route serving instead.
Row = tuple[str, str, str, str, str, str]


def findings_of(app: object) -> list[Finding]:
    """What ``httpconflict routes`` finds in `app`."""
    return find_problems(routes_of(identify(app)))


def rows(findings: list[Finding]) -> set[Row]:
    """Findings as rows, handlers by their last name."""
    return {
        (
            finding.kind.value,
            " ".join(methods_list(finding.methods)),
            finding.route.pattern.text,
            _short(finding.route.definition.handler),
            finding.by.pattern.text,
            _short(finding.by.definition.handler),
        )
        for finding in findings
    }


def asgi_endpoint(app: Any, method: str, path: str) -> str:
    """The name of the endpoint an ASGI app routes ``method path`` to."""
    scope = _scope(method, path)
    asyncio.run(_call(app, scope, []))
    endpoint = scope["endpoint"]
    return _short(getattr(endpoint, "__qualname__", type(endpoint).__qualname__))


def asgi_body(app: Any, method: str, path: str) -> bytes:
    """The body of an ASGI app's answer to ``method path``."""
    sent: list[dict[str, Any]] = []
    asyncio.run(_call(app, _scope(method, path), sent))
    return b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


async def _call(app: Any, scope: dict[str, Any], sent: list[dict[str, Any]]) -> None:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)


def _scope(method: str, path: str) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver")],
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 1234),
    }


def werkzeug_checked(app: Any) -> int:
    """Match each literal rule of a Flask app with Werkzeug, for each method it was declared
    with, and assert the rule's own endpoint comes back; how many were checked."""
    adapter = app.url_map.bind("localhost")
    checked = 0
    for route in routes_of(identify(app)).routes:
        path = route.pattern.literal_path
        if path is None or route.methods is None or route.alias:
            continue
        for method in sorted(route.explicit or ()):
            rule, _ = adapter.match(path, method, return_rule=True)
            assert rule.endpoint == route.definition.name, (method, path)
            checked += 1
    return checked


def _short(qualname: str) -> str:
    return qualname.rsplit(".", 1)[-1]


# Run in a fresh process: Django configures itself once per process.
_DJANGO_RUN = """
import contextlib, inspect, io, json, sys
from django.urls import resolve
from httpconflict.cli import main
from httpconflict.tools.routes._rules import find_problems
from httpconflict.tools.routes._run import routes_of
from httpconflict.tools.routes._target import load, parse_target

def qualname(func):
    view = getattr(func, "view_class", None) or getattr(func, "cls", None) or func
    # A method bound to a view object (the admin's GroupAdmin().changelist_view), under its
    # wrappers, is named by the object's class.
    inner = view
    while hasattr(inner, "__wrapped__") and not inspect.ismethod(inner):
        inner = inner.__wrapped__
    if inspect.ismethod(inner) and not inspect.isclass(inner.__self__):
        return f"{type(inner.__self__).__qualname__}.{inner.__func__.__name__}"
    return view.__qualname__

out = io.StringIO()
with contextlib.redirect_stdout(out):
    code = main(["routes", sys.argv[1], "--json"])
table = routes_of(load(parse_target(sys.argv[1])))
findings = find_problems(table)
lost = {f.route.index: f.by for f in findings if f.path is None}
# One literal spelling of a route of several, taken by an earlier route.
spelled = {(f.route.index, f.path): f.by for f in findings if f.path is not None}
served = {}
for route in table.routes:
    for path in route.pattern.literal_paths:
        if path in served:
            continue
        by = spelled.get((route.index, path)) or lost.get(route.index, route)
        winner = by.definition
        match = resolve(path)
        # The URL name tells a viewset's routes apart (users-me from users-detail).
        name = match.view_name if winner.name else None
        served[path] = [[qualname(match.func), name], [winner.handler, winner.name]]
print(json.dumps({
    "code": code,
    "report": json.loads(out.getvalue()),
    "served": served,
    "sampled": sampled(table, lost),
}))
"""

# Routes with parameters, checked on sample paths: a path Django serves with the route itself
# when the tool says it is served, and none it serves otherwise when the tool says it is lost.
_DJANGO_SAMPLED = """
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.exceptions import Resolver404
from hypothesis import HealthCheck, Phase, find, settings, strategies as st
from hypothesis.errors import NoSuchExample, Unsatisfiable
from httpconflict.tools.routes._model import Param, Shape

SETTINGS = settings(
    max_examples=30, database=None, deadline=None, phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
)
ALPHABET = st.characters(min_codepoint=33, max_codepoint=126)

def django_routes():
    # Django's own route string of each view, in the loader's order (ResolverMatch.route).
    found = []
    def walk(patterns, prefix):
        for entry in patterns:
            route = prefix + str(entry.pattern).removeprefix("^") if prefix else str(entry.pattern)
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, route)
            elif isinstance(entry, URLPattern):
                found.append(route)
    walk(get_resolver().url_patterns, "")
    return found

def piece_strategy(piece):
    if isinstance(piece, str):
        return st.just(piece)
    converter = piece.converter
    values = st.from_regex(converter.regex, fullmatch=True, alphabet=ALPHABET)
    if converter.shape is Shape.SEGMENT:
        values = values.filter(lambda text: "/" not in text)
    return values.filter(converter.accepts)

def paths(segments):
    parts = [st.tuples(*map(piece_strategy, segment.pieces)).map("".join) for segment in segments]
    return st.tuples(*parts).map(lambda texts: "/" + "/".join(texts))

def route_of(path):
    try:
        return resolve(path).route
    except Resolver404:
        return None

def sampled(table, lost):
    strings = django_routes()
    result = {}
    for route in table.routes:
        if route.pattern.literal_paths or route.alias:
            continue
        if route.pattern.segments is None:
            result[route.pattern.text] = "unchecked"
            continue
        own = strings[route.index]
        winner = strings[lost[route.index].index] if route.index in lost else None
        verdict = "agrees"
        for segments in route.pattern.variants:
            try:
                if winner is None:
                    find(paths(segments), lambda p: route_of(p) == own, settings=SETTINGS)
                else:
                    path = find(paths(segments), lambda p: route_of(p) != winner, settings=SETTINGS)
                    verdict = f"{path} is served by {route_of(path)}, not {winner}"
            except (NoSuchExample, Unsatisfiable):
                if winner is None:
                    verdict = f"no path of {own} is served by it"
        result[route.pattern.text] = verdict
    return result
"""


#: A view's qualified name, and its URL name (None when the route has none).
View = tuple[str, str | None]


@dataclass(frozen=True, slots=True)
class DjangoRun:
    """``httpconflict routes SETTINGS --json`` run in a fresh process, and Django's own check."""

    code: int
    report: dict[str, Any]
    #: Each literal path: the view (qualified name, URL name) Django's resolve() serves it
    #: with, and the one the tool says serves it (the route's own, or its finding's winner).
    served: dict[str, tuple[View, View]]
    #: Each route with parameters: "agrees" when sample paths agree with the tool (one
    #: Django serves with the route itself; none served otherwise for a route found
    #: lost), "unchecked" for a pattern kept whole, else what disagrees.
    sampled: dict[str, str]


def django_run(settings: str, env: dict[str, str] | None = None) -> DjangoRun:
    """The command's report on a Django site, and resolve()'s view for each literal path."""
    environ = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    out = subprocess.run(
        [sys.executable, "-c", _DJANGO_SAMPLED + _DJANGO_RUN, settings],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**environ, **(env or {})},
        timeout=60,
        check=True,
    )
    run = json.loads(out.stdout)
    served = {path: (tuple(view), tuple(want)) for path, (view, want) in run["served"].items()}
    return DjangoRun(run["code"], run["report"], served, run["sampled"])


def routes_command(
    *args: str, cwd: Path = ROOT, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m httpconflict.cli routes ARGS`` in a fresh process (Django configures once)."""
    environ = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    environ["COLUMNS"] = "200"  # a wide table, so that no cell is folded
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "httpconflict.cli", "routes", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=environ,
        timeout=60,
        check=False,
    )
