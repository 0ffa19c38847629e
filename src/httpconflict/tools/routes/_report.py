"""The findings as a rich table for people and as JSON for machines."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._accept import Acceptance
from ._model import ANY, Finding, Kind, Methods, Route, RouteTable, same_handler

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

_KIND_STYLE = {
    Kind.DUPLICATE: "red",
    Kind.SHADOWED: "yellow",
    Kind.DOC_MISMATCH: "magenta",
    Kind.MOUNT_OVERLAP: "cyan",
}


@dataclass(frozen=True, slots=True)
class RoutesReport:
    """What one run found: the open findings, the accepted ones and the unused acceptances."""

    app: str
    table: RouteTable
    findings: list[Finding]
    accepted: list[tuple[Finding, Acceptance]]
    unused: list[Acceptance]
    #: The pyproject.toml the acceptances were read from.
    settings: Path | None = None

    @property
    def routes(self) -> int:
        """The routes, aliases left out."""
        return sum(not route.alias for route in self.table.routes)

    @property
    def aliases(self) -> int:
        return len(self.table.routes) - self.routes

    @property
    def literal_only(self) -> list[Route]:
        """The routes whose pattern the tool does not take apart (a regex it cannot read, a
        catch-all sharing its segment): compared with literal paths only, so a route with
        parameters that one takes, or takes from it, goes unreported. A regex known by the
        text Django searches for (`Pattern.search`) is compared with every route."""
        return [
            route
            for route in self.table.routes
            if route.pattern.segments is None and route.pattern.search is None and not route.alias
        ]

    @property
    def notes(self) -> list[str]:
        """The loader's notes, and each acceptance that matches nothing."""
        return [
            *self.table.notes,
            *(
                f"the accepted override {a.key!r} ({self.settings}) matches no finding: "
                "the route it excused is gone, or its key is misspelt"
                for a in self.unused
            ),
        ]


def as_json(report: RoutesReport) -> dict[str, Any]:
    """The report as one JSON object."""
    return {
        "app": report.app,
        "framework": report.table.framework,
        "routes": report.routes,
        "aliases": report.aliases,
        "findings": [_finding_json(finding) for finding in report.findings],
        "accepted": [
            {**_finding_json(finding), "accepted": {"key": a.key, "reason": a.reason}}
            for finding, a in report.accepted
        ],
        "settings": None if report.settings is None else str(report.settings),
        "notes": report.notes,
        "literal_only": [_route_json(route) for route in report.literal_only],
    }


def _finding_json(finding: Finding) -> dict[str, Any]:
    return {
        "kind": finding.kind.value,
        "methods": methods_list(finding.methods),
        "route": _route_json(finding.route),
        "by": _route_json(finding.by),
        "path": finding.path,
        "reason": reason(finding),
        "accept_key": accept_key(finding),
    }


def render(out: Console, report: RoutesReport) -> None:
    """The report as a table, a reason under it for each row, and a summary."""
    from rich.markup import escape

    for note in report.notes:
        out.print(f"[dim]note: {escape(note)}[/dim]")
    count = f"{report.routes} routes"
    if report.aliases:
        count += f", {report.aliases} alias" + ("es" if report.aliases > 1 else "")
    title_tail = f"{report.table.framework}, {count}"
    title = f"{escape(report.app)} ({title_tail})"
    if report.accepted:
        _accepted_table(out, report)
    accepted = f" ({len(report.accepted)} accepted)" if report.accepted else ""
    if not report.findings:
        clean = f"[green]{escape(report.app)}[/green] ({title_tail}): no problems found"
        out.print(clean + accepted)
        _gap(out, report)
        return
    out.print(_findings_table(title, report.findings))
    for number, finding in enumerate(report.findings, 1):
        out.print(f"{number}. {reason(finding)}", markup=False)
    problems = "problem" if len(report.findings) == 1 else "problems"
    out.print(f"[bold red]{len(report.findings)} {problems}[/bold red]{accepted}")
    out.print(
        "A deliberate override? Accept it in pyproject.toml, with its reason: "
        f'[tool.httpconflict.routes.accept] "{accept_key(report.findings[0])}" = "why"',
        markup=False,
        style="dim",
    )
    _gap(out, report)


#: The routes compared with literal paths only that the terminal names; --json lists all.
_GAP_SHOWN = 5


def _gap(out: Console, report: RoutesReport) -> None:
    """What the tool could not compare, so that "no problems found" is not read as more."""
    partial = report.literal_only
    if not partial:
        return
    shown = ", ".join(f"{r.pattern.text} ({r.definition.handler})" for r in partial[:_GAP_SHOWN])
    more = len(partial) - _GAP_SHOWN
    rest = f", and {more} more (--json lists them)" if more > 0 else ""
    out.print(
        f"{len(partial)} of {report.routes} routes compared with literal paths only (a regex "
        "the tool does not take apart, or a catch-all sharing its segment): a route with "
        f"parameters they take, or that takes theirs, is not reported: {shown}{rest}",
        markup=False,
        style="dim",
    )


def _findings_table(title: str, findings: list[Finding]) -> Table:
    from rich.table import Table

    grid = Table(title=title, title_justify="left")
    grid.add_column("#", justify="right")
    grid.add_column("kind")
    grid.add_column("method")
    # Folded, never cut with an ellipsis: a path or a file:line cut short names nothing.
    grid.add_column("route never served", overflow="fold")
    grid.add_column("served instead by", overflow="fold")
    for number, finding in enumerate(findings, 1):
        style = _KIND_STYLE[finding.kind]
        grid.add_row(
            str(number),
            f"[{style}]{finding.kind.value}[/{style}]",
            " ".join(methods_list(finding.methods)),
            _route_cell(finding.route, finding.path),
            _route_cell(finding.by),
        )
    return grid


def _accepted_table(out: Console, report: RoutesReport) -> None:
    from rich.markup import escape
    from rich.table import Table

    grid = Table(
        title=f"accepted in {escape(str(report.settings))} (deliberate overrides)",
        title_justify="left",
    )
    grid.add_column("accepted")
    grid.add_column("kind")
    grid.add_column("route never served", overflow="fold")
    grid.add_column("served instead by", overflow="fold")
    grid.add_column("reason", overflow="fold")
    for finding, acceptance in report.accepted:
        grid.add_row(
            escape(acceptance.key),
            finding.kind.value,
            _route_cell(finding.route),
            _route_cell(finding.by),
            escape(acceptance.reason),
        )
    out.print(grid)


def accept_key(finding: Finding) -> str:
    """The key that accepts `finding` in pyproject.toml."""
    methods = ",".join(methods_list(finding.methods))
    return f"{methods} {finding.lost}"


def reason(finding: Finding) -> str:
    """Why the route is never served, in one sentence naming both routes' handlers and where
    they are: the table's cells fold in a narrow terminal, the sentence keeps each place whole."""
    route, by = finding.route, finding.by
    methods = "" if finding.methods is ANY else "/".join(methods_list(finding.methods)) + " "
    lost = _where(route)
    if by.alias and by.definition.file is not None:
        return (
            f"{by.pattern.text} ({_where(by)}) is Flask-RESTX's "
            f"placeholder for url_for, tried first: it takes {methods}requests for "
            f"{route.pattern.text} ({lost}) and answers them 404 (register the route before "
            "the Api, or give the Api a prefix)"
        )
    if by.alias:
        return (
            f"{by.pattern.text} ({by.definition.handler}) is an alias with no view, tried "
            f"first: it takes {methods}requests for {route.pattern.text} ({lost}), and Flask "
            "answers them 500 (add the alias after the route, or give it the view)"
        )
    if finding.path is not None:
        return (
            f"{by.pattern.text} ({_where(by)}) is tried first and matches {finding.path}, "
            f"one spelling of {route.pattern.text}: {methods}requests for it never reach "
            f"{lost}, which is served only at its other spellings"
        )
    if finding.kind is Kind.DUPLICATE and same_handler(by, route):
        return (
            f"{methods}{route.pattern.text} is registered twice with one handler, {lost} "
            "(a router or blueprint included twice?): the second is never served"
        )
    if finding.kind is Kind.DUPLICATE:
        return (
            f"{methods}{route.pattern.text} is declared twice: {_where(by)} was first and "
            f"takes every request, {lost} none"
        )
    if finding.kind is Kind.DOC_MISMATCH:
        return (
            f"{methods}{route.pattern.text} is declared twice: the OpenAPI document shows "
            f"{lost}, but requests go to {_where(by)}, declared first"
        )
    if finding.kind is Kind.MOUNT_OVERLAP:
        return (
            f"the mount {by.pattern.text} ({_where(by)}) takes every path under its prefix, "
            f"{route.pattern.text} ({lost}) included"
        )
    return (
        f"{by.pattern.text} is tried first and matches every path of {route.pattern.text}, "
        f"so {methods}requests there go to {_where(by)}, never to {lost}"
    )


def _where(route: Route) -> str:
    """``handler (file:line)``, or the handler alone when its place is not known; and the
    mount it is served under, which alone tells apart one handler registered in two apps."""
    definition = route.definition
    where = definition.handler
    if definition.file is not None:
        where += f" ({definition.location})"
    if route.mounted_at is not None:
        where += f" in the app mounted at {route.mounted_at or '/'}"
    return where


def methods_list(methods: Methods) -> list[str]:
    """Sorted methods; ``["*"]`` for every method."""
    return ["*"] if methods is ANY else sorted(methods)


def _route_json(route: Route) -> dict[str, Any]:
    definition = route.definition
    return {
        "path": route.pattern.text,
        "methods": methods_list(route.methods),
        "handler": definition.handler,
        "name": definition.name,
        "file": definition.file,
        "line": definition.line,
        "mount": route.mount,
        "mounted_at": route.mounted_at,
        "alias": route.alias,
    }


def _route_cell(route: Route, path: str | None = None) -> str:
    """A route's pattern, handler and place; with `path`, the one spelling never served."""
    from rich.markup import escape

    definition = route.definition
    handler = definition.handler
    if definition.name and definition.name != handler:
        handler = f"{handler} ({definition.name})"
    lines = [
        f"[bold]{escape(route.pattern.text)}[/bold]",
        escape(handler),
        f"[dim]{'alias, no view' if route.alias else escape(definition.location)}[/dim]",
    ]
    if route.mounted_at is not None:
        lines.append(f"[dim]in the app mounted at {escape(route.mounted_at or '/')}[/dim]")
    if path is not None:
        lines.insert(1, f"at {escape(path)} only")
    return "\n".join(lines)
