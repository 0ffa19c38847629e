"""The ``--html`` report: one self-contained page (inline CSS and SVG, nothing fetched).

Every text that came from the API or the command line is escaped; the
page has no script, no link and no image source, so it opens the same
offline, from a CI artifact or an e-mail.
"""

from __future__ import annotations

from html import escape
from typing import Final

from . import svg
from .catalog import BY_ID, CHECKS, LOST_UPDATE
from .report import AuditReport
from .verdict import Verdict

CSS: Final = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #212121;
       max-width: 1080px; margin: 2em auto; padding: 0 1em; }
h1 { font-size: 1.6em; margin: 0 0 .2em; }
h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #e0e0e0; }
.url { font-family: ui-monospace, monospace; word-break: break-all; }
.head { display: flex; gap: 2em; align-items: center; }
.meta { color: #616161; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: .45em .6em;
         border-bottom: 1px solid #eee; }
th { background: #fafafa; }
td.num { text-align: right; }
ul.evidence { margin: 0; padding-left: 1.1em; }
.badge { display: inline-block; min-width: 4.5em; text-align: center; border-radius: 3px;
         color: #fff; font-weight: 600; padding: .05em .4em; }
.pass { background: #2e7d32; } .warn { background: #ef8f00; }
.fail { background: #c62828; } .skipped { background: #9e9e9e; }
code { font-family: ui-monospace, monospace; }
"""


def render(report: AuditReport) -> str:
    """The whole page."""
    score = report.score
    counts = ", ".join(f"{report.count(v)} {v.value}" for v in Verdict)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>httpconflict audit: {escape(report.url)}</title>",
        f"<style>{CSS}</style></head><body>",
        '<div class="head">',
        svg.score_ring(score),
        "<div><h1>httpconflict audit</h1>",
        f'<div class="url">{escape(report.url)}</div>',
        f'<p class="meta">score {"n/a" if score is None else score}/100 &middot; {counts} '
        f"&middot; {report.requests} requests (of at most {report.max_requests}) in "
        f"{report.duration:.1f} s &middot; started {escape(report.started_at)}</p>",
        "".join(f'<p class="meta">note: {escape(note)}</p>' for note in report.notes),
        "</div></div>",
        "<h2>Checks</h2>",
        _checks_table(report),
        _race_section(report),
        "<h2>How the score is computed</h2>",
        "<p>score = 100 &times; &sum;(weight &times; credit) / &sum; weight, over the checks "
        "that ran; credit is 1 for pass, 0.5 for warn, 0 for fail; skipped checks do not "
        "count.</p>",
        _weights_table(),
        "<h2>Cleanup</h2>",
        _cleanup(report),
        "</body></html>",
    ]
    return "\n".join(part for part in parts if part)


def _checks_table(report: AuditReport) -> str:
    rows = [
        "<table><tr><th>check</th><th>verdict</th><th>weight</th><th>evidence</th></tr>",
    ]
    for result in report.results:
        check = BY_ID[result.check]
        evidence = "".join(f"<li>{escape(line)}</li>" for line in result.evidence)
        rows.append(
            f"<tr><td>{escape(check.title)}<br><code>{escape(check.id)}</code></td>"
            f'<td><span class="badge {result.verdict.value}">{result.verdict.value}</span></td>'
            f'<td class="num">{check.weight}</td>'
            f'<td><ul class="evidence">{evidence}</ul></td></tr>'
        )
    rows.append("</table>")
    return "".join(rows)


def _race_section(report: AuditReport) -> str:
    race = report.result(LOST_UPDATE.id)
    if race is None or "per_writer" not in race.data:
        return ""
    data = race.data
    naming = "naming the version they read" if data["careful"] else "naming no version"
    return (
        "<h2>Lost-update race</h2>"
        f"<p>{data['writers']} writers &times; {data['rounds']} read-modify-write attempts of "
        f"one counter, {naming}: <strong>{data['acknowledged']}</strong> writes acknowledged, "
        f"counter {data['initial']} &rarr; {data['final']}, <strong>{data['lost']} lost</strong>; "
        f"{data['refused']} refused as stale; {data['server_errors']} server errors.</p>"
        + svg.writer_bars(data["per_writer"])
    )


def _weights_table() -> str:
    rows = ["<table><tr><th>check</th><th>id</th><th>weight</th></tr>"]
    rows.extend(
        f"<tr><td>{escape(c.title)}</td><td><code>{escape(c.id)}</code></td>"
        f'<td class="num">{c.weight}</td></tr>'
        for c in CHECKS
    )
    rows.append("</table>")
    return "".join(rows)


def _cleanup(report: AuditReport) -> str:
    cleanup = report.cleanup
    if cleanup.kept:
        text = cleanup.kept_sentence() + "."
    else:
        text = f"{cleanup.deleted} of {cleanup.created} test resources deleted."
    left = "".join(f"<li><code>{escape(url)}</code></li>" for url in cleanup.left)
    if cleanup.unlocated:
        left += f"<li>{cleanup.unlocated} resource(s) whose URL the audit could not learn</li>"
    if cleanup.unanswered:
        left += f"<li>maybe: {cleanup.unanswered} POST(s) got no answer</li>"
    return f"<p>{text}</p>" + (f"<ul>{left}</ul>" if left else "")
