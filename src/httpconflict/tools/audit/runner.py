"""One audit from start to end: set up, run each check in turn, clean up, report.

The order matters: the ETag check learns the ETag the others send, the
if-match check learns the body's version members the later writes name,
and the problem+json check, last, judges the error answers all the
others provoked. A check that stops (budget, time, no answer) is recorded
as skipped and the next one runs; any 5xx answer to a check's requests
fails that check. Cleanup runs whatever happened, even when the audit
could not start.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Final

import httpx

from .budget import Budget
from .catalog import (
    DELETE,
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
from .deletes import check_delete
from .errors import AuditStopped, CannotAudit
from .exchange import Exchange
from .idempotency import check_idempotency_key
from .preconditions import check_if_match, check_precondition_required
from .problems import check_problem_json
from .race import check_lost_update
from .report import AuditReport
from .settings import AuditSettings
from .setup import set_up
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
    (DELETE, check_delete),
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
    created = 5 + 2 * settings.duplicates + (2 if settings.unique else 0)
    # setup, etag, not-modified, if-match, precondition-required, delete, unique, problem-json
    fixed = 2 + 1 + 1 + 8 + 3 + 7 + (2 if settings.unique else 0) + 2
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
    failure: CannotAudit | None = None
    async with httpx.AsyncClient(headers=headers, limits=limits) as client:
        target = Target(client, settings, budget, on_request)
        try:
            try:
                ctx = await set_up(target, settings, run_id or secrets.token_hex(4))
            except CannotAudit as error:
                failure = error
            else:
                for check, step in STEPS:
                    if on_step is not None:
                        on_step(check.title)
                    results.append(await _run(check, step, ctx))
        finally:
            if on_step is not None:
                on_step("cleaning up")
            cleanup = await target.cleanup()
    if failure is not None:
        raise CannotAudit(str(failure), cleanup) from failure
    return AuditReport(
        url=target.collection_url,
        started_at=started_at,
        duration=time.monotonic() - start,
        requests=budget.used,
        max_requests=settings.max_requests,
        results=tuple(results),
        cleanup=cleanup,
        notes=tuple(target.notes),
    )


async def _run(check: Check, step: CheckStep, ctx: AuditContext) -> CheckResult:
    seen = len(ctx.target.exchanges)
    try:
        result = await step(ctx)
    except AuditStopped as stop:
        result = CheckResult(check.id, Verdict.SKIPPED, (f"stopped: {stop}",))
    return with_server_errors(result, ctx.target.exchanges[seen:])


def with_server_errors(result: CheckResult, exchanges: Sequence[Exchange]) -> CheckResult:
    """`result`, failed if any of its check's requests got a 5xx answer."""
    errors = [e for e in exchanges if e.status >= 500]
    if not errors or result.verdict is Verdict.FAIL:
        return result
    listed = ", ".join(e.summary() for e in errors[:3])
    more = f" and {len(errors) - 3} more" if len(errors) > 3 else ""
    line = f"SERVER ERRORS: {len(errors)} of this check's {len(exchanges)} requests: {listed}{more}"
    return CheckResult(
        result.check,
        Verdict.FAIL,
        (*result.evidence, line),
        {**result.data, "server_errors": len(errors)},
    )
