"""Troubleshooting pages: a diagnosis, or a knowledge entry, as one HTML file.

Theory of operation. A page is self-contained (inline CSS, no script, no
external resource; a Content-Security-Policy says so to the browser) so
it can be mailed, attached to a ticket or served as it is. Its fix steps
are an ordered list and, for search engines and tools, a schema.org
HowTo in JSON-LD. Everything that comes from the input (details, URLs)
is escaped; the JSON-LD is escaped for its ``<script>`` element too.
The service's ``/problems/{type}`` pages are `entry_page`; ``diagnose
--html`` writes `diagnosis_page`. Standard library only: the service
imports this module.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from .._output import visible
from .knowledge import Entry
from .matching import Diagnosis, Match

_CSS: Final = """
:root { color-scheme: light dark; --fg: #1b1f24; --bg: #ffffff; --muted: #57606a;
  --accent: #0b57d0; --code: #f0f2f5; --border: #d0d7de; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6edf3; --bg: #0d1117; --muted: #9ea7b3; --accent: #79b8ff;
    --code: #1f2630; --border: #30363d; } }
body { margin: 0; background: var(--bg); color: var(--fg);
  font: 1rem/1.6 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { max-width: 46rem; margin: 0 auto; padding: 2rem 1.25rem 3rem; }
h1 { font-size: 1.6rem; line-height: 1.3; margin: 0 0 .25rem; }
h2 { font-size: 1.15rem; margin: 2rem 0 .5rem; }
.meta { color: var(--muted); margin: 0 0 1.5rem; }
code { background: var(--code); border-radius: 4px; padding: .1em .35em;
  font: .9em/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  overflow-wrap: anywhere; }
ol.steps > li { margin: .5rem 0; padding-left: .25rem; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; }
dt { font-weight: 600; } dd { margin: 0; overflow-wrap: anywhere; }
a { color: var(--accent); }
a:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
.notice { border-left: 4px solid var(--border); padding: .25rem 1rem; }
footer { color: var(--muted); font-size: .875rem; margin-top: 3rem;
  border-top: 1px solid var(--border); padding-top: 1rem; }
"""
# The page loads nothing: styles are inline and there is no script to run
# (a JSON-LD block is data, not executed).
_CSP: Final = "default-src 'none'; style-src 'unsafe-inline'"


def howto(
    name: str, description: str, steps: Sequence[str], url: str | None = None
) -> dict[str, Any]:
    """A schema.org HowTo of `steps` (code spans shown as plain text)."""
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "HowTo",
        "name": name,
        "description": description,
        "step": [
            {
                "@type": "HowToStep",
                "position": position,
                "name": f"Step {position}",
                "text": step.replace("`", ""),
            }
            for position, step in enumerate(steps, start=1)
        ],
    }
    if url is not None:
        data["url"] = url
    return data


def entry_document(entry: Entry) -> dict[str, Any]:
    """A knowledge entry as JSON (the service's problem pages, for Accept: application/json)."""
    out: dict[str, Any] = {"id": entry.id}
    if entry.problem_type_uri is not None:
        out.update(type=entry.problem_type_uri, slug=entry.slug)
    out.update(
        title=entry.title,
        status=entry.status,
        cause=entry.cause,
        steps=list(entry.steps),
        references=list(entry.references),
        howto=howto(f"How to fix: {entry.title}", entry.cause, entry.steps, entry.problem_type_uri),
    )
    return out


def entry_page(entry: Entry) -> str:
    """The page of a knowledge entry (no input): what it means, the cause, the fix."""
    meta = [entry.system] + ([f"HTTP {entry.status}"] if entry.status else [])
    body = [
        _section("What it means", f"<p>{_inline(entry.conflicted)}</p>"),
        _section("Likely cause", f"<p>{_inline(entry.cause)}</p>"),
        _steps(entry.steps),
    ]
    if entry.problem_type_uri is not None:
        body.append(
            _section("Problem type", f"<p><code>{html.escape(entry.problem_type_uri)}</code></p>")
        )
    body.append(_references(entry.references))
    data = howto(f"How to fix: {entry.title}", entry.cause, entry.steps, entry.problem_type_uri)
    return _page(entry.title, " · ".join(meta), body, data)


def diagnosis_page(diagnosis: Diagnosis) -> str:
    """The page of a diagnosis: what conflicted, the details found, the cause, the fix."""
    best = diagnosis.best
    if best is None:
        said = html.escape(visible(diagnosis.not_recognised()))
        notice = f'<p class="notice" role="status">{said}</p>'
        return _page("Not recognised", "httpconflict diagnose", [notice], None)
    entry = best.entry
    meta = [entry.system] + ([f"HTTP {entry.status}"] if entry.status else [])
    body = [_section("What conflicted", f"<p>{_inline(best.conflicted)}</p>")]
    if diagnosis.note is not None:
        body.insert(0, f'<p class="notice" role="note">{_inline(diagnosis.note)}</p>')
    if best.details:
        body.append(_details(best.details))
    body.append(_section("Likely cause", f"<p>{_inline(best.cause)}</p>"))
    body.append(_steps(best.steps))
    if diagnosis.runners_up:
        body.append(_runners_up(diagnosis.runners_up))
    body.append(_references(entry.references))
    data = howto(f"How to fix: {entry.title}", best.cause, best.steps, entry.problem_type_uri)
    return _page(entry.title, " · ".join(meta), body, data)


def _page(title: str, meta: str, body: Iterable[str], data: Mapping[str, Any] | None) -> str:
    jsonld = ""
    if data is not None:
        jsonld = f'\n<script type="application/ld+json">\n{_script_json(data)}\n</script>'
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>{jsonld}\n</head>\n"
        f"<body>\n<main>\n<h1>{html.escape(title)}</h1>\n"
        f'<p class="meta">{html.escape(meta)}</p>\n'
        + "\n".join(body)
        + '\n<footer><p>Written by <a href="https://httpconflict.dev/">httpconflict</a> '
        "diagnose.</p></footer>\n</main>\n</body>\n</html>\n"
    )


def _section(heading: str, content: str) -> str:
    anchor = heading.lower().replace(" ", "-")
    return (
        f'<section aria-labelledby="{anchor}">\n<h2 id="{anchor}">{html.escape(heading)}</h2>\n'
        f"{content}\n</section>"
    )


def _steps(steps: Sequence[str]) -> str:
    items = "\n".join(f"<li>{_inline(step)}</li>" for step in steps)
    return _section("How to fix it", f'<ol class="steps">\n{items}\n</ol>')


def _details(details: Mapping[str, str]) -> str:
    rows = "\n".join(
        f"<dt>{html.escape(name.replace('_', ' '))}</dt>"
        f"<dd><code>{html.escape(visible(value))}</code></dd>"
        for name, value in details.items()
    )
    return _section("Details found", f"<dl>\n{rows}\n</dl>")


def _runners_up(matches: Sequence[Match]) -> str:
    items = "\n".join(
        f"<li>{html.escape(m.entry.title)} (<code>{html.escape(m.entry.id)}</code>)</li>"
        for m in matches
    )
    return _section("Other possible matches", f"<ul>\n{items}\n</ul>")


def _references(references: Sequence[str]) -> str:
    items = "\n".join(
        f'<li><a href="{html.escape(url)}">{html.escape(url)}</a></li>' for url in references
    )
    return _section("References", f"<ul>\n{items}\n</ul>")


def _inline(text: str) -> str:
    """`text` escaped, with its `code spans` as <code>, its control characters written out."""
    text = visible(text)
    parts = text.split("`")
    if len(parts) % 2 == 0:  # an unpaired backtick: show it as written
        return html.escape(text)
    return "".join(
        f"<code>{html.escape(part)}</code>" if odd else html.escape(part)
        for odd, part in ((i % 2 == 1, p) for i, p in enumerate(parts))
    )


def _script_json(data: Mapping[str, Any]) -> str:
    """JSON safe inside <script>: no "</script>" or "<!--" can be formed."""
    text = json.dumps(data, indent=2, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
