"""A diagnosis on the terminal, with rich (the only module here that imports it).

Texts from the input (details, URLs) are given to rich as `Text`, never
as markup, so a pasted ``[bold]`` or ``[/]`` is shown as it is, and with
every control character written out (`visible`): a pasted escape sequence
does not reach the terminal (one that sets the window's title, or writes
the clipboard).
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from .._output import visible
from .knowledge import KnowledgeBase
from .matching import Diagnosis


def render(diagnosis: Diagnosis, console: Console) -> None:
    """The best match in a panel (conflict, cause, details, steps), then the runners-up."""
    best = diagnosis.best
    if best is None:
        console.print(
            Panel(
                Text(visible(diagnosis.not_recognised())),
                title=Text("Not recognised", style="bold yellow"),
                border_style="yellow",
            )
        )
        _not_read(diagnosis, console)
        return
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold", no_wrap=True)
    facts.add_column(overflow="fold")
    facts.add_row("What conflicted", _code_spans(best.conflicted))
    facts.add_row("Likely cause", _code_spans(best.cause))
    for name, value in best.details.items():
        facts.add_row(Text(name.replace("_", " "), style="dim"), Text(visible(value), style="cyan"))
    steps = Table.grid(padding=(0, 1))
    steps.add_column(justify="right", style="bold green", no_wrap=True)
    steps.add_column(overflow="fold")
    for position, step in enumerate(best.steps, start=1):
        steps.add_row(f"{position}.", _code_spans(step))
    parts: list[RenderableType] = [facts, Text(""), Text("How to fix it", style="bold"), steps]
    if best.entry.references:
        parts.extend([Text(""), _references(best.entry.references)])
    entry = best.entry
    console.print(
        Panel(
            Group(*parts),
            title=Text(entry.title, style="bold"),
            subtitle=Text(f"{entry.system} · {entry.id}", style="dim"),
            border_style="red" if entry.status in (409, 412, 428) else "magenta",
        )
    )
    if diagnosis.note is not None:
        console.print(_code_spans(diagnosis.note), style="dim")
    _not_read(diagnosis, console)
    if diagnosis.runners_up:
        also = Text("Also matches (ranked): ", style="dim")
        for index, match in enumerate(diagnosis.runners_up):
            if index:
                also.append(", ", style="dim")
            also.append(match.entry.title)
            also.append(f" ({match.entry.id})", style="dim")
        console.print(also)


def _not_read(diagnosis: Diagnosis, console: Console) -> None:
    for note in diagnosis.evidence.notes:
        console.print(Text(f"Not read: {visible(note)}.", style="dim"))


def render_list(knowledge: KnowledgeBase, console: Console) -> None:
    """Every entry of the knowledge base: id, system, usual status, title."""
    table = Table(title=f"{len(knowledge.entries)} known errors", title_justify="left")
    table.add_column("id", style="cyan", no_wrap=True)
    table.add_column("system")
    table.add_column("status", justify="right")
    table.add_column("title", overflow="fold")
    for entry in knowledge.entries:
        table.add_row(entry.id, entry.system, str(entry.status or ""), entry.title)
    console.print(table)


def _code_spans(text: str) -> Text:
    """`text`, its `code spans` shown in a code style, its control characters written out."""
    text = visible(text)
    parts = text.split("`")
    if len(parts) % 2 == 0:
        return Text(text)
    out = Text()
    for index, part in enumerate(parts):
        out.append(part, style="bold cyan" if index % 2 else "")
    return out


def _references(references: Sequence[str]) -> Text:
    out = Text("References", style="bold")
    for url in references:
        out.append("\n  ")
        out.append(url, style=f"link {url}")
    return out
