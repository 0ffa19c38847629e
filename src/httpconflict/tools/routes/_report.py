"""The findings as a rich table for people and as JSON for machines."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._model import ANY, Finding, Kind, Methods, Route, RouteTable

if TYPE_CHECKING:
    from rich.console import Console

_KIND_STYLE = {
    Kind.DUPLICATE: "red",
    Kind.SHADOWED: "yellow",
    Kind.DOC_MISMATCH: "magenta",
    Kind.MOUNT_OVERLAP: "cyan",
}


def as_json(app: str, table: RouteTable, findings: list[Finding]) -> dict[str, Any]:
    """The report as one JSON object."""
    return {
        "app": app,
        "framework": table.framework,
        "routes": len(table.routes),
        "findings": [
            {
                "kind": finding.kind.value,
                "methods": methods_list(finding.methods),
                "route": _route_json(finding.route),
                "by": _route_json(finding.by),
                "reason": reason(finding),
            }
            for finding in findings
        ],
        "notes": list(table.notes),
    }


def render(out: Console, app: str, table: RouteTable, findings: list[Finding]) -> None:
    """The report as a table, a reason under it for each row, and a summary."""
    from rich.markup import escape
    from rich.table import Table

    for note in table.notes:
        out.print(f"[dim]note: {escape(note)}[/dim]")
    count = f"{len(table.routes)} routes"
    if not findings:
        out.print(f"[green]{escape(app)}[/green] ({table.framework}, {count}): no problems found")
        return
    grid = Table(title=f"{escape(app)} ({table.framework}, {count})", title_justify="left")
    grid.add_column("#", justify="right")
    grid.add_column("kind")
    grid.add_column("method")
    grid.add_column("route never served")
    grid.add_column("served instead by")
    for number, finding in enumerate(findings, 1):
        style = _KIND_STYLE[finding.kind]
        grid.add_row(
            str(number),
            f"[{style}]{finding.kind.value}[/{style}]",
            " ".join(methods_list(finding.methods)),
            _route_cell(finding.route),
            _route_cell(finding.by),
        )
    out.print(grid)
    for number, finding in enumerate(findings, 1):
        out.print(f"{number}. {reason(finding)}", markup=False)
    problems = "problem" if len(findings) == 1 else "problems"
    out.print(f"[bold red]{len(findings)} {problems}[/bold red]")


def reason(finding: Finding) -> str:
    """Why the route is never served, in one sentence."""
    route, by = finding.route, finding.by
    methods = "" if finding.methods is ANY else "/".join(methods_list(finding.methods)) + " "
    if finding.kind is Kind.DUPLICATE:
        return (
            f"{methods}{route.pattern.text} is declared twice; {by.definition.handler} "
            f"({by.definition.location}) was first and takes every request"
        )
    if finding.kind is Kind.DOC_MISMATCH:
        return (
            f"{methods}{route.pattern.text} is declared twice: the OpenAPI document shows "
            f"{route.definition.handler}, but requests go to {by.definition.handler}, "
            "declared first"
        )
    if finding.kind is Kind.MOUNT_OVERLAP:
        return (
            f"the mount {by.pattern.text} takes every path under its prefix, "
            f"{route.pattern.text} included"
        )
    return (
        f"{by.pattern.text} is tried first and matches every path of {route.pattern.text}, "
        f"so {methods}requests there go to {by.definition.handler}"
    )


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
    }


def _route_cell(route: Route) -> str:
    from rich.markup import escape

    definition = route.definition
    handler = definition.handler
    if definition.name and definition.name != handler:
        handler = f"{handler} ({definition.name})"
    return "\n".join(
        (
            f"[bold]{escape(route.pattern.text)}[/bold]",
            escape(handler),
            f"[dim]{escape(definition.location)}[/dim]",
        )
    )
