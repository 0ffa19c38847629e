"""Run ``httpconflict audit`` from its parsed options: progress bar, report, exit status."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from .._output import FAILED, USAGE, console, print_json
from . import html_page, terminal
from .errors import CannotAudit
from .jsonapi import template_type
from .report import AuditReport
from .runner import planned_requests, run_audit
from .settings import DEFAULT_BODY, AuditSettings, parse_body, parse_header, unwrap


def settings_from(args: argparse.Namespace) -> AuditSettings:
    """The options, checked (ValueError says what is wrong)."""
    template = parse_body(args.body) if args.body else dict(DEFAULT_BODY)
    body, wrap_requests = unwrap(template, args.envelope)
    described = template_type(body) if args.envelope is None else None
    if described is not None:
        jsonapi_type, body = described
    return AuditSettings(
        collection_url=args.url,
        body=body,
        jsonapi_type=None if described is None else jsonapi_type,
        envelope=args.envelope,
        wrap_requests=wrap_requests,
        unique=tuple(dict.fromkeys(args.unique)),
        id_field=args.id_field,
        counter=args.counter,
        writers=args.writers,
        rounds=args.rounds,
        duplicates=args.duplicates,
        max_requests=args.max_requests,
        time_limit=args.timeout,
        request_timeout=args.request_timeout,
        headers=dict(parse_header(h) for h in args.header),
        write_method=args.write_method,
        keep=args.keep,
    )


def main(args: argparse.Namespace) -> int:
    try:
        settings = settings_from(args)
    except ValueError as error:
        print(f"httpconflict audit: {error}", file=sys.stderr)
        return USAGE
    try:
        report = _audit_with_progress(settings)
    except CannotAudit as error:
        print(
            f"httpconflict audit: cannot audit {settings.collection_url}: {error}", file=sys.stderr
        )
        cleanup = error.cleanup
        if cleanup is not None and (cleanup.created or cleanup.unanswered):
            for line in cleanup.lines():
                print(f"httpconflict audit: {line.strip()}", file=sys.stderr)
        if args.json:
            print_json(
                {
                    "url": settings.collection_url,
                    "error": str(error),
                    "cleanup": None if cleanup is None else cleanup.to_dict(),
                }
            )
        return FAILED
    if args.html:
        try:
            Path(args.html).write_text(html_page.render(report), encoding="utf-8")
        except OSError as error:
            print(f"httpconflict audit: cannot write the HTML report: {error}", file=sys.stderr)
            return FAILED
    if args.json:
        print_json(report.to_dict())
    else:
        terminal.render(report, console())
    return report.exit_code


def _audit_with_progress(settings: AuditSettings) -> AuditReport:
    """Run the audit with a progress bar on stderr (when stderr is a terminal)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    errors = console(sys.stderr)
    with Progress(
        TextColumn("{task.description:<36}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("requests"),
        TimeElapsedColumn(),
        console=errors,
        transient=True,
        disable=not errors.is_terminal,
    ) as progress:
        task = progress.add_task("setting up", total=planned_requests(settings))
        return asyncio.run(
            run_audit(
                settings,
                on_request=lambda: progress.advance(task),
                on_step=lambda title: progress.update(task, description=title),
            )
        )
