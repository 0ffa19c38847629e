"""The rules: which routes are never served, and which route takes their requests.

Every framework here sends a request to the first route, in its own
order (`Route.rank`), that matches the path and serves the method. So a
route `b` loses a method when an earlier route `a` matches *every* path
`b` matches (`covers`) and serves that method too. For each route, in
rank order, the earlier routes are tried in rank order and each takes
what it can of the methods still wanted; every take is a finding:

- `a` is a mount: MOUNT_OVERLAP (Starlette's Mount takes every path under
  its prefix, even one none of its own routes matches);
- `a` and `b` are the same pattern: DUPLICATE, or DOC_MISMATCH when `b`
  is the route the OpenAPI document describes for that path and method
  (FastAPI documents the last route registered, serves the first) and
  its handler is another than `a`'s;
- otherwise `a` is wider: SHADOWED.

What is *not* a finding:

- methods the framework added by itself (HEAD beside GET, Flask's
  automatic OPTIONS): only the methods a route was declared with are
  wanted, so two routes on one path with different methods are fine;
- a route for every method after routes for some methods on its path: it
  is the fallback for the rest (the service's 405 route), not a duplicate;
- anything `covers` cannot prove: partial overlaps (``{id:int}`` before
  ``{name}``), regexes against parameters; but a route of several spellings
  (a Django regex ending in ``/?``: with and without the trailing slash)
  loses each literal spelling an earlier route covers, and each is a
  finding naming that `path`;
- an alias (a rule with no view, `Route.alias`) tried after a route on
  its path: it only builds URLs; tried first, it takes that route's
  requests like any rule, and is reported;
- a route inside a mount, against that mount; and routes inside a mount
  already reported as never served (its report says it all).
"""

from __future__ import annotations

from collections.abc import Iterator

from ._model import (
    ANY,
    Finding,
    Kind,
    Methods,
    Pattern,
    Route,
    RouteTable,
    Segment,
    same_handler,
)
from ._patterns import covers, same_paths


def find_problems(table: RouteTable) -> list[Finding]:
    """Every route that loses methods to an earlier one, and to which."""
    ordered = sorted(table.routes, key=lambda route: route.rank)
    documented = _documented(table.routes)
    lost: set[int] = set()  # routes that serve nothing at all
    findings: list[Finding] = []
    for route in ordered:
        if route.alias or route.inside & lost:
            continue
        wanted = route.explicit
        for earlier in _earlier(ordered, route, lost):
            taken = _taken(wanted, earlier.methods)
            if taken is not ANY and not taken:
                continue
            if not covers(earlier.pattern, route.pattern):
                continue
            findings.append(
                Finding(_kind(earlier, route, taken, documented), taken, route, earlier)
            )
            if taken is ANY or wanted is ANY or taken == wanted:
                lost.add(route.index)
                break
            wanted = wanted - taken
        else:
            findings.extend(_lost_spellings(ordered, route, wanted, lost))
    return findings


def _lost_spellings(
    ordered: list[Route], route: Route, wanted: Methods, lost: set[int]
) -> Iterator[Finding]:
    """The literal spellings of a route of several (a Django regex ending in ``/?``) that
    an earlier route takes, when it keeps others: DRF's ``^articles/(?P<slug>[^/.]+)$``
    takes ``/articles/feed`` of a later ``^articles/feed/?$``, which only its
    ``/articles/feed/`` reaches."""
    spellings = route.pattern.variants
    for segments in spellings:
        # Only a spelling with and without its trailing slash: the route's own two paths
        # (a language's prefix is another page, which i18n_patterns serves apart).
        if not any(_slashed(segments, other) or _slashed(other, segments) for other in spellings):
            continue
        texts = [segment.literal for segment in segments]
        if any(text is None for text in texts):
            continue
        path = "/" + "/".join(text for text in texts if text is not None)
        alone = Pattern(path, segments, host=route.pattern.host)
        for earlier in _earlier(ordered, route, lost):
            taken = _taken(wanted, earlier.methods)
            if (taken is ANY or taken) and covers(earlier.pattern, alone):
                kind = Kind.MOUNT_OVERLAP if earlier.mount else Kind.SHADOWED
                if not earlier.mount and same_paths(earlier.pattern, alone):
                    kind = Kind.DUPLICATE
                yield Finding(kind, taken, route, earlier, path)
                break


def _slashed(bare: tuple[Segment, ...], slashed: tuple[Segment, ...]) -> bool:
    """Whether `slashed` is `bare` with a trailing slash (one more, empty, segment)."""
    return slashed[:-1] == bare and len(slashed) == len(bare) + 1 and slashed[-1].literal == ""


def _earlier(ordered: list[Route], route: Route, lost: set[int]) -> Iterator[Route]:
    """The routes tried before `route` that can take a request at all."""
    for earlier in ordered:
        if earlier.rank >= route.rank:
            return
        if earlier.index in route.inside or earlier.index in lost or earlier.inside & lost:
            continue
        yield earlier


def _taken(wanted: Methods, served: Methods) -> Methods:
    """The wanted methods that `served` takes; empty when none."""
    if wanted is ANY:
        # A route for every method behind routes for some: the fallback for the rest.
        return ANY if served is ANY else frozenset()
    return wanted if served is ANY else wanted & served


def _kind(
    earlier: Route, route: Route, taken: Methods, documented: dict[tuple[str, str], int]
) -> Kind:
    if earlier.mount:
        return Kind.MOUNT_OVERLAP
    if not same_paths(earlier.pattern, route.pattern):
        return Kind.SHADOWED
    if route.openapi is None or taken is ANY or same_handler(earlier, route):
        # One handler on both sides (a router included twice): the document shows
        # the handler that serves.
        return Kind.DUPLICATE
    described = {documented.get((route.openapi, method)) for method in taken}
    return Kind.DOC_MISMATCH if route.index in described else Kind.DUPLICATE


def _documented(routes: tuple[Route, ...]) -> dict[tuple[str, str], int]:
    """The route the OpenAPI document describes, by path and method: the last registered."""
    documented: dict[tuple[str, str], int] = {}
    for route in sorted(routes, key=lambda route: route.index):
        if route.openapi is not None and route.methods is not ANY:
            for method in route.methods:
                documented[(route.openapi, method)] = route.index
    return documented
