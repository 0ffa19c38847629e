"""The write checks: is a stale If-Match refused, and is a write without one?

Every write here changes the same member (``audit_note``) to a new value,
so no write equals the state already stored (RFC 9110 §13.1.1 lets a
server answer 2xx to a stale write that asks for the current state) and
a merging PATCH cannot apply a stale change as a non-overlapping merge.
"""

from __future__ import annotations

from typing import Any, Final

from .catalog import IF_MATCH, PRECONDITION_REQUIRED
from .context import AuditContext
from .target import Exchange
from .verdict import CheckResult, Verdict

NOTE: Final = "audit_note"


async def _read(ctx: AuditContext, check: str) -> tuple[Exchange, dict[str, Any]]:
    answer = await ctx.target.send(check, "GET", ctx.item_url)
    return answer, answer.document() or {}


async def check_if_match(ctx: AuditContext) -> CheckResult:
    """Write with the current ETag (2xx), then with that now-stale ETag (412 or 409)."""
    evidence: list[str] = []
    data: dict[str, Any] = {}
    read, current = await _read(ctx, IF_MATCH.id)
    etag = read.header("etag") if ctx.etag is not None else None
    current_refused = False
    if etag is not None:
        fresh = await ctx.target.write(
            IF_MATCH.id, ctx.item_url, current, {NOTE: f"current {ctx.uid()}"}, {"If-Match": etag}
        )
        data["current_status"] = fresh.status
        weak = ctx.parsed_etag is not None and ctx.parsed_etag.weak
        if fresh.ok:
            after, current = await _read(ctx, IF_MATCH.id)
            evidence.append(f"a write with the current ETag in If-Match -> {fresh.status}")
            if after.header("etag") == etag:
                evidence.append(
                    f"but the ETag stayed {etag} after the write changed the resource: "
                    "an ETag that does not change cannot tell a stale write from a current one"
                )
                return CheckResult(IF_MATCH.id, Verdict.FAIL, tuple(evidence), data)
        elif fresh.status in (409, 412) and weak:
            current_refused = True
            evidence.append(
                f"a write with the current (weak) ETag in If-Match -> {fresh.status}: right "
                "by RFC 9110 §13.1.1, but then no client can ever write conditionally"
            )
        else:
            evidence.append(
                f"a write with the current ETag {etag} in If-Match -> {fresh.status}: "
                "a careful client cannot write at all"
            )
            return CheckResult(IF_MATCH.id, Verdict.FAIL, tuple(evidence), data)
        stale = etag
    else:
        stale = f'"httpconflict-audit-stale-{ctx.uid()}"'
        evidence.append(f"no usable ETag, so the stale one is made up: {stale}")
    answer = await ctx.target.write(
        IF_MATCH.id, ctx.item_url, current, {NOTE: f"stale {ctx.uid()}"}, {"If-Match": stale}
    )
    data["stale_status"] = answer.status
    said = f"a write with the stale If-Match: {stale} -> {answer.status}"
    if answer.status in (409, 412):
        # RFC 9110 §13.1.1: "An origin server that receives an If-Match header
        # field MUST evaluate the condition ... If the field value is a list
        # of entity tags, the condition is false if none of the listed tags
        # match the entity tag of the selected representation."
        evidence.append(
            said + (" (refused)" if answer.status == 412 else " (refused as a conflict)")
        )
        verdict = Verdict.WARN if current_refused else Verdict.PASS
        return CheckResult(IF_MATCH.id, verdict, tuple(evidence), data)
    if answer.ok:
        evidence.append(
            said + ": applied; the API ignores If-Match, so a writer who read an old "
            "version silently overwrites newer changes"
        )
    else:
        evidence.append(said + ", neither 412 nor 409")
    return CheckResult(IF_MATCH.id, Verdict.FAIL, tuple(evidence), data)


async def check_precondition_required(ctx: AuditContext) -> CheckResult:
    """A write to an existing resource without If-Match answers 428."""
    check = PRECONDITION_REQUIRED.id
    _, current = await _read(ctx, check)
    answer = await ctx.target.write(check, ctx.item_url, current, {NOTE: f"blind {ctx.uid()}"})
    data = {"status": answer.status}
    method = ctx.settings.write_method
    said = f"{method} without If-Match -> {answer.status}"
    if answer.status == 428:
        # RFC 6585 §3: 428 "indicates that the origin server requires the
        # request to be conditional ... to avoid the 'lost update' problem".
        return CheckResult(check, Verdict.PASS, (said + " Precondition Required",), data)
    if answer.ok:
        return CheckResult(
            check,
            Verdict.FAIL,
            (
                said + ": blind writes are accepted (last writer wins), so a client "
                "that never read the current version overwrites it",
            ),
            data,
        )
    if answer.status in (404, 405, 501):
        return CheckResult(check, Verdict.SKIPPED, (said + f": the API does not take {method}",))
    if answer.status >= 500:
        return CheckResult(check, Verdict.FAIL, (said + ": a server error",), data)
    return CheckResult(
        check,
        Verdict.WARN,
        (said + ": refused, but 428 Precondition Required (RFC 6585 §3) tells the client why",),
        data,
    )
