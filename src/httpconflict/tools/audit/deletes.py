"""The DELETE check: is a DELETE naming a stale version refused, and one naming none?

Theory of operation: a DELETE has no body, so the version it names goes
in If-Match (`Version.if_match`: the ETag read, else the body's version
member as an entity-tag). The check creates a resource, changes it once
so that the version read first is stale, then DELETEs naming that stale
version (a made-up one when the API takes no write: a store that can
only be made and deleted); then DELETEs a resource naming no version at all. After each
DELETE a GET says whether the resource is really gone, so the report
states what happened, not what the answer claimed.
"""

from __future__ import annotations

from typing import Any

from .catalog import DELETE
from .context import AuditContext
from .exchange import Exchange
from .preconditions import CREDENTIALS, FORBIDDEN
from .verdict import CheckResult, Verdict, worst

CHECK = DELETE.id


async def _gone(ctx: AuditContext, url: str) -> bool:
    gone = (await ctx.target.send(CHECK, "GET", url)).status in (404, 410)
    if gone:
        ctx.target.deleted.add(url)  # not left by --keep
    return gone


def _status(answer: Exchange) -> str:
    return f"{answer.status} (a server error)" if answer.status >= 500 else str(answer.status)


async def check_delete(ctx: AuditContext) -> CheckResult:
    """A DELETE naming a stale version answers 412; one naming none answers 428."""
    created, url = await ctx.target.create(CHECK, ctx.new_body())
    if url is None:
        return CheckResult(
            CHECK, Verdict.SKIPPED, (f"could not create a resource to delete: {created.summary()}",)
        )
    read = await ctx.target.send(CHECK, "GET", url)
    before = read.document() or {}
    stale = ctx.version(read)
    changed = await ctx.target.write(
        CHECK, url, ctx.body(before, ctx.edit(before), stale), ctx.headers(stale)
    )
    # A resource the API never changes (a PUT answered 405) has no version that goes
    # stale: a made-up one is as stale as any, and the DELETEs are judged all the same.
    unchangeable = changed.status in (405, 501)
    if not changed.ok and not unchangeable:
        said = f"could not change the resource to make its version stale: {changed.summary()}"
        if changed.status in FORBIDDEN:
            said += f": {CREDENTIALS}"
        return CheckResult(
            CHECK,
            Verdict.FAIL if changed.status >= 500 else Verdict.SKIPPED,
            (said, "no DELETE was sent: the check needs a stale version to name"),
        )
    value = stale.if_match()
    how = "the version read before the last change"
    if unchangeable:
        value = f'"httpconflict-audit-stale-{ctx.uid()}"'
        how = (
            f"a made-up version: the API takes no {ctx.settings.write_method} "
            f"({changed.status}), so no version read goes stale"
        )
    elif value is None:
        value = f'"httpconflict-audit-stale-{ctx.uid()}"'
        how = "a made-up version: the audit saw no ETag and no version member"
    answer = await ctx.target.send(CHECK, "DELETE", url, headers={"If-Match": value})
    gone = await _gone(ctx, url)
    data: dict[str, Any] = {"stale_status": answer.status, "stale_deleted": gone}
    said = f"DELETE with If-Match: {value} ({how}) -> {_status(answer)}"
    if answer.status in (405, 501):
        return CheckResult(CHECK, Verdict.SKIPPED, (said + ": the API does not take DELETE",))
    if gone:
        evidence = [said + ", and the resource is gone"]
        verdicts = [Verdict.FAIL]
    elif answer.status in (409, 412):
        evidence = [said + (" (refused)" if answer.status == 412 else ", refused as a conflict")]
        verdicts = [Verdict.PASS]
    elif answer.ok:
        evidence = [said + ", yet the resource is still there"]
        verdicts = [Verdict.FAIL]
    else:
        evidence = [said + ", neither 412 nor 409; the resource is still there"]
        verdicts = [Verdict.FAIL if answer.status >= 500 else Verdict.WARN]
    if gone:
        created, url = await ctx.target.create(CHECK, ctx.new_body())
        if url is None:
            evidence.append(f"no resource for a DELETE naming no version: {created.summary()}")
            return CheckResult(CHECK, worst(verdicts), tuple(evidence), data)
    verdict, line = await _blind(ctx, url, data)
    return CheckResult(CHECK, worst([*verdicts, verdict]), (*evidence, line), data)


async def _blind(ctx: AuditContext, url: str, data: dict[str, Any]) -> tuple[Verdict, str]:
    answer = await ctx.target.send(CHECK, "DELETE", url)
    gone = await _gone(ctx, url)
    data.update(blind_status=answer.status, blind_deleted=gone)
    said = f"DELETE without If-Match -> {_status(answer)}"
    if answer.status == 428:
        # RFC 6585 §3: 428 "indicates that the origin server requires the
        # request to be conditional".
        return Verdict.PASS, said + " Precondition Required"
    if gone:
        return Verdict.FAIL, said + ", and the resource is gone: deleted naming no version"
    if answer.ok:
        return Verdict.FAIL, said + ", yet the resource is still there"
    if answer.status >= 500:
        return Verdict.FAIL, said + "; the resource is still there"
    return (
        Verdict.WARN,
        said + ": refused, but 428 Precondition Required (RFC 6585 §3) tells the client why",
    )
