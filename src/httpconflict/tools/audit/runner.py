"""One audit from start to end: set up, run each check in turn, clean up, report.

The order matters: the ETag check learns the ETag the If-None-Match and
If-Match checks send, and the problem+json check, last, judges the error
answers all the others provoked. A check that stops (budget, time, no
answer) is recorded as skipped and the next one runs.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Final

import httpx

from .budget import Budget
from .catalog import (
    ETAG,
    IDEMPOTENCY_KEY,
    IF_MATCH,
    LOST_UPDATE,
    NOT_MODIFIED,
    PRECONDITION_REQUIRED,
    PROBLEM_JSON,
    UNIQUE,
    Check,
)
from .context import AuditContext
from .errors import AuditStopped, CannotAudit
from .idempotency import check_idempotency_key
from .preconditions import check_if_match, check_precondition_required
from .problems import check_problem_json
from .race import check_lost_update
from .report import AuditReport
from .settings import AuditSettings
from .target import Target
from .uniqueness import check_unique
from .validators import check_etag, check_not_modified
from .verdict import CheckResult, Verdict

CheckStep = Callable[[AuditContext], Awaitable[CheckResult]]
STEPS: Final[tuple[tuple[Check, CheckStep], ...]] = (
    (ETAG, check_etag),
    (NOT_MODIFIED, check_not_modified),
    (IF_MATCH, check_if_match),
    (PRECONDITION_REQUIRED, check_precondition_required),
    (LOST_UPDATE, check_lost_update),
    (IDEMPOTENCY_KEY, check_idempotency_key),
    (UNIQUE, check_unique),
    (PROBLEM_JSON, check_problem_json),
)
USER_AGENT: Final = "httpconflict-audit"


def planned_requests(settings: AuditSettings) -> int:
    """About how many requests the audit will send (for the progress bar)."""
    race = 2 * settings.writers * settings.rounds + 3
    duplicates = 2 * settings.duplicates + 1
    created = 3 + 2 * settings.duplicates + (2 if settings.unique else 0)
    fixed = 2 + 1 + 1 + 4 + 2 + (2 if settings.unique else 0) + 2
    return min(settings.max_requests, fixed + race + duplicates + 2 * created)


async def run_audit(
    settings: AuditSettings,
    *,
    on_request: Callable[[], None] | None = None,
    on_step: Callable[[str], None] | None = None,
    run_id: str | None = None,
) -> AuditReport:
    """Audit the collection; raise `CannotAudit` if not even a test resource can be made."""
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    start = time.monotonic()
    budget = Budget(settings.max_requests, settings.time_limit, settings.request_timeout)
    headers = {
        "User-Agent": USER_AGENT,
        "Accept": "application/json, application/problem+json",
        **settings.headers,
    }
    # A connection per request: a server that closes a kept-alive connection
    # after an error (uvicorn does, after an unhandled exception) would
    # otherwise make the next request on it fail without an answer.
    limits = httpx.Limits(max_connections=settings.writers + 4, max_keepalive_connections=0)
    results: list[CheckResult] = []
    async with httpx.AsyncClient(headers=headers, limits=limits) as client:
        target = Target(client, settings, budget, on_request)
        try:
            ctx = await _set_up(target, settings, run_id or secrets.token_hex(4))
            for check, step in STEPS:
                if on_step is not None:
                    on_step(check.title)
                results.append(await _run(check, step, ctx))
        finally:
            if on_step is not None:
                on_step("cleaning up")
            cleanup = await target.cleanup()
    return AuditReport(
        url=settings.collection_url,
        started_at=started_at,
        duration=time.monotonic() - start,
        requests=budget.used,
        max_requests=settings.max_requests,
        results=tuple(results),
        cleanup=cleanup,
    )


async def _set_up(target: Target, settings: AuditSettings, run_id: str) -> AuditContext:
    """Create the audit's first resource and read it back."""
    url = settings.collection_url
    try:
        created, item_url = await target.create("setup", settings.render_body(f"{run_id}-0"))
        if not created.ok:
            raise CannotAudit(
                f"POST {url} answered {created.status}: the audit creates its test resources "
                f"there (pass a body the API accepts with --body): {created.body[:200]!r}"
            )
        if item_url is None:
            raise CannotAudit(
                f"POST {url} answered {created.status} without a Location header or an "
                f"{settings.id_field!r} member: where is the new resource? (see --id-field)"
            )
        read = await target.send("setup", "GET", item_url)
    except AuditStopped as error:
        raise CannotAudit(str(error)) from error
    if read.status != 200 or read.document() is None:
        raise CannotAudit(
            f"GET {item_url} (the resource just created) answered {read.status}, "
            "not 200 with a JSON object"
        )
    return AuditContext(settings, target, run_id, item_url, read)


async def _run(check: Check, step: CheckStep, ctx: AuditContext) -> CheckResult:
    try:
        return await step(ctx)
    except AuditStopped as stop:
        return CheckResult(check.id, Verdict.SKIPPED, (f"stopped: {stop}",))
