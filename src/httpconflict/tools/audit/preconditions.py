"""The write checks: is a stale write refused, and is a write that names no version?

Theory of operation: the if-match check first writes naming the version
it just read (as the API takes it: If-Match, and the body's members as
read), reads the result back, and learns from it which body members the
server changed by itself (`versions.detect_members`): those carry the
version. Then it writes again naming the version read *before* that
write: really stale, in the header and in the body alike. Each write
changes a member the API keeps (the counter, when the resource has one)
to a value it does not hold, and each is read back, so the report says
what the resource holds, not what the answer claimed. When the stale
write is refused, one more stale write whose body equals the current
state tells whether the API answers 2xx to an identical body without
checking the precondition (the content-equality shortcut).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from .catalog import IF_MATCH, PRECONDITION_REQUIRED
from .context import AuditContext
from .exchange import Exchange
from .settings import WRITE_METHODS
from .verdict import CheckResult, Verdict
from .versions import Version, detect_members

CHECK = IF_MATCH.id
#: Answers that say the API does not take the write at all: no verdict on preconditions.
NOT_TAKEN = (404, 405, 415, 501)
#: Answers that refuse the write for who sends it (RFC 9110 §15.5.2, §15.5.4), whatever
#: version it names: no verdict on preconditions either, until a write of the audit's
#: has succeeded (then a 403 to a blind write is the API's way of refusing it).
FORBIDDEN = (401, 403)
#: Answers that refuse a write's body as invalid (RFC 9110 §15.5.1, §15.5.21).
INVALID = (400, 422)
CREDENTIALS = (
    "refused for who the audit is, not for the version it names: pass credentials that "
    "may change the resource with --header 'Authorization: ...'"
)


async def _read(ctx: AuditContext, check: str) -> tuple[Exchange, dict[str, Any]]:
    answer = await ctx.target.send(check, "GET", ctx.item_url)
    return answer, answer.document() or {}


def _holds(state: Mapping[str, Any], changes: Mapping[str, Any]) -> bool:
    return all(state.get(name) == value for name, value in changes.items())


def _status(answer: Exchange) -> str:
    return f"{answer.status} (a server error)" if answer.status >= 500 else str(answer.status)


def _named(ctx: AuditContext, version: Version) -> str:
    if not ctx.careful:
        return "no version: the audit saw no ETag"
    return version.describe(etag=ctx.offers_etags)


async def check_if_match(ctx: AuditContext) -> CheckResult:
    """Write naming the current version (2xx), then naming the version before it (412 or 409)."""
    read, before = await _read(ctx, CHECK)
    version = ctx.version(read)
    changes = ctx.edit(before)
    fresh = await ctx.target.write(
        CHECK, ctx.item_url, ctx.body(before, changes, version), ctx.headers(version)
    )
    tried = ""
    if fresh.status in INVALID:
        fresh, tried = await _writable_members(ctx, before, changes, version, fresh)
    data: dict[str, Any] = {"current_status": fresh.status}
    said = f"a write naming the version just read ({_named(ctx, version)}) -> {_status(fresh)}"
    weak = ctx.parsed_etag is not None and ctx.parsed_etag.weak
    ctx.writes_allowed = fresh.ok
    if not fresh.ok:
        if fresh.status in FORBIDDEN:
            return CheckResult(CHECK, Verdict.SKIPPED, (f"{said}: {CREDENTIALS}",))
        if fresh.status in INVALID:
            return CheckResult(CHECK, Verdict.SKIPPED, (f"{said}{tried}: {invalid(fresh)}",), data)
        if fresh.status in NOT_TAKEN:
            not_taken = said + ": the API does not take it" + _other_method(ctx, fresh)
            return CheckResult(CHECK, Verdict.SKIPPED, (not_taken,))
        if not (fresh.status in (409, 412) and weak):
            return CheckResult(CHECK, Verdict.FAIL, (said + ": refused",), data)
        # RFC 9110 §13.1.1: "An origin server MUST use the strong comparison
        # function when comparing entity tags for If-Match".
        refusal = (
            said + ": right by RFC 9110 §13.1.1 for a weak ETag, but no write naming it can "
            "succeed, so a stale one was not tried"
        )
        return CheckResult(CHECK, Verdict.WARN, (refusal,), data)
    after_read, after = await _read(ctx, CHECK)
    members = detect_members(before, after, changes)
    ctx.target.version_members = members
    data["version_members"] = list(members)
    if members and ctx.settings.write_method != "PATCH":
        # The PUT (or POST) sent the state as read, its version members with it.
        said = f"a write naming the version just read ({_named(ctx, ctx.version(read))}) -> "
        said += _status(fresh)
    evidence = [said]
    if not _holds(after, changes):
        evidence.append(
            f"the resource does not hold that write's {', '.join(changes)} afterwards: name a "
            "whole-number member the API keeps with --counter"
        )
    if members and (ctx.settings.write_method == "PATCH" or ctx.target.carried_members):
        # A write that did not send the state as read did not send them back.
        members = await _taken_back(ctx, after_read, after, members, evidence, data)
    elif members:
        evidence.append(
            f"the server changed {', '.join(members)} by itself on that write: the audit "
            "takes it for the version, and its writes send it back as read"
        )
    stale = Version.of(read, members)
    etag_moved = after_read.header("etag") != read.header("etag")
    if ctx.offers_etags and not etag_moved and not members:
        evidence.append(
            f"but the ETag stayed {read.header('etag')} after the write changed the resource: "
            "no version a client can send tells the old state from the new one"
        )
        return CheckResult(CHECK, Verdict.FAIL, tuple(evidence), data)
    return await _stale(ctx, stale, evidence, data)


def invalid(answer: Exchange) -> str:
    """Why a write refused as invalid says nothing of versions, and what to pass."""
    excerpt = answer.body[:160].decode("utf-8", "replace")
    return (
        f"refused as invalid, not for the version it names ({excerpt!r}): give --body the "
        "members a write must hold, so that the audit's writes are taken"
    )


_PLURAL: Final = {"PATCH": "PATCHes"}


async def _writable_members(
    ctx: AuditContext,
    current: Mapping[str, Any],
    changes: Mapping[str, Any],
    version: Version,
    refused: Exchange,
) -> tuple[Exchange, str]:
    """A write refused as invalid, tried once more with the members --body names as the
    resource holds them; the answer to report, and what was tried.

    A PATCH of the changes alone: Airflow's pools and variables take a PATCH
    of the whole writable object (a pydantic model with required members
    and ``extra="forbid"``): the changes alone get 422 (a member missing),
    and so does the object as read (its read-only members are refused). A
    PUT of the state as read: microblog-api's posts refuse the members the
    server made (``id``, ``author``, ``timestamp``: marshmallow's "Unknown
    field.", 400). What the client created the resource with is what it
    may write back.
    """
    method = ctx.settings.write_method
    carried = tuple(name for name in ctx.settings.body if name not in changes)
    if not carried and method == "PATCH":
        return refused, ""
    ctx.target.carried_members = carried or tuple(changes)
    answer = await ctx.target.write(
        CHECK, ctx.item_url, ctx.body(current, changes, version), ctx.headers(version)
    )
    # What --body names but the resource never shows (a create-only member) is not sent.
    listed = ", ".join(name for name in carried if name in current) or "none"
    sent = f"only {', '.join(changes)}" if method == "PATCH" else "the resource as read"
    if answer.ok:
        ctx.target.notes.append(
            f"{method} with {sent} -> {refused.status}, and with the members --body names "
            f"({listed}) as the resource holds them -> {answer.status}: the audit's "
            f"{_PLURAL.get(method, method + 's')} carry "
            f"{'them' if method == 'PATCH' else 'only them'}"
        )
        return answer, ""
    ctx.target.carried_members = ()
    if answer.status not in INVALID:
        return refused, ""
    # The later refusal names what is still missing: the more useful of the two.
    return answer, f" (carrying {listed} as the resource holds them; with {sent}: {refused.status})"


def _other_method(ctx: AuditContext, answer: Exchange) -> str:
    """What to pass when a 405's Allow names another way to write: Redash's items take POST."""
    allow = answer.header("allow")
    if answer.status != 405 or allow is None:
        return ""
    allowed = {method.strip().upper() for method in allow.split(",")}
    others = [m for m in WRITE_METHODS if m in allowed and m != ctx.settings.write_method]
    return f" (Allow: {allow}: pass --write-method {others[0]})" if others else ""


async def _taken_back(
    ctx: AuditContext,
    read: Exchange,
    current: Mapping[str, Any],
    members: tuple[str, ...],
    evidence: list[str],
    data: dict[str, Any],
) -> tuple[str, ...]:
    """The members a write may send back; none when a write naming them is refused as invalid.

    A PATCH carries only what it changes (and a PUT of the --body's members
    only those), so the first write did not send the members back. A server
    that changes a timestamp by itself and refuses it in a write body
    (Prefect's variables: ``updated``, and pydantic's ``extra="forbid"`` ->
    422) takes no version there: sent with
    every write, it had every write of the audit refused, and the refusals
    reported as stale writes refused.
    """
    listed = ", ".join(members)
    named = Version.of(read, members)
    answer = await ctx.target.write(
        CHECK, ctx.item_url, ctx.body(current, ctx.edit(current), named), ctx.headers(named)
    )
    if answer.status not in INVALID:
        evidence.append(
            f"the server changed {listed} by itself on that write, and a write sending it back "
            f"as read -> {_status(answer)}: the audit takes it for the version, and its writes "
            "send it back as read"
        )
        return members
    evidence.append(
        f"the server changed {listed} by itself on that write, but a write sending it back as "
        f"read -> {answer.status}: the API takes no such member, so it names no version and "
        "the audit's writes leave it out"
    )
    ctx.target.version_members = ()
    data["version_members"] = []
    data["refused_members"] = list(members)
    return ()


async def _stale(
    ctx: AuditContext, stale: Version, evidence: list[str], data: dict[str, Any]
) -> CheckResult:
    """Write naming the version read before the last change; read back what happened."""
    _, current = await _read(ctx, CHECK)
    changes = ctx.edit(current)
    headers = ctx.headers(stale)
    if ctx.careful:
        named = f"the version read before the last change ({_named(ctx, stale)})"
        newer = " in place of the newer version"
    else:
        made_up = f'"httpconflict-audit-stale-{ctx.uid()}"'
        headers = {"If-Match": made_up}
        named = f"a made-up version (If-Match: {made_up})"
        newer = ""
    answer = await ctx.target.write(CHECK, ctx.item_url, ctx.body(current, changes, stale), headers)
    data["stale_status"] = answer.status
    _, after = await _read(ctx, CHECK)
    held = data["stale_applied"] = _holds(after, changes)
    said = f"a write naming {named} -> {_status(answer)}"
    if answer.status in (409, 412):
        ctx.stale_refused = True
        # RFC 9110 §13.1.1: "An origin server that receives an If-Match header
        # field MUST evaluate the condition ... If the field value is a list
        # of entity tags, the condition is false if none of the listed tags
        # match the entity tag of the selected representation."
        refused = " (refused)" if answer.status == 412 else ", refused as a conflict"
        evidence.append(said + refused)
        verdict = await _identical(ctx, stale, headers, after, evidence, data)
        return CheckResult(CHECK, verdict, tuple(evidence), data)
    if answer.ok:
        evidence.append(
            said + f": applied, the resource now holds it{newer}"
            if held
            else said + ": a success answer, yet the resource does not hold the write"
        )
    elif answer.status >= 500:
        kept = "it does not hold the write" if not held else "yet it holds the write"
        evidence.append(said + f"; the resource read back: {kept}")
    else:
        evidence.append(said + ", neither 412 nor 409")
    return CheckResult(CHECK, Verdict.FAIL, tuple(evidence), data)


async def _identical(
    ctx: AuditContext,
    stale: Version,
    headers: Mapping[str, str],
    current: Mapping[str, Any],
    evidence: list[str],
    data: dict[str, Any],
) -> Verdict:
    """The stale version again, with a body equal to the current state: WARN if it gets 2xx."""
    same = {name: current.get(name) for name in ctx.edit(current)}
    answer = await ctx.target.write(CHECK, ctx.item_url, ctx.body(current, same, stale), headers)
    data["identical_stale_status"] = answer.status
    said = f"the same stale version with a body equal to the current state -> {_status(answer)}"
    if not answer.ok:
        evidence.append(said + " (refused too: the body does not decide)")
        return Verdict.PASS
    # RFC 9110 §13.1.1 allows a 2xx when "the change requested by the user
    # agent has already succeeded", but a body equal to the current state
    # does not show that: a concurrent writer who read the same version
    # and made the same change sends exactly this request.
    ctx.shortcut = (
        f"a stale write with a body equal to the current state -> {answer.status}, "
        "a different stale write -> "
        f"{data['stale_status']}: the content-equality shortcut"
    )
    evidence.append(
        said + ": the content-equality shortcut (answered as already applied by comparing "
        "the body, without checking the version it names)"
    )
    return Verdict.WARN


async def check_precondition_required(ctx: AuditContext) -> CheckResult:
    """A write to an existing resource naming no version answers 428."""
    check = PRECONDITION_REQUIRED.id
    _, current = await _read(ctx, check)
    changes = ctx.edit(current)
    answer = await ctx.target.write(check, ctx.item_url, ctx.body(current, changes, None))
    _, after = await _read(ctx, check)
    held = _holds(after, changes)
    data = {"status": answer.status, "applied": held}
    method = ctx.settings.write_method
    without = "without If-Match" + (
        f" and without {', '.join(ctx.version_members)}" if ctx.version_members else ""
    )
    said = f"{method} {without} -> {_status(answer)}"
    if answer.status == 428:
        # RFC 6585 §3: 428 "indicates that the origin server requires the
        # request to be conditional ... to avoid the 'lost update' problem".
        return CheckResult(check, Verdict.PASS, (said + " Precondition Required",), data)
    if answer.ok:
        return CheckResult(
            check,
            Verdict.FAIL,
            (
                said
                + (
                    ": accepted, and the resource holds it: a write that names no version "
                    "replaced the current one"
                    if held
                    else ": accepted (the resource does not show the change)"
                ),
            ),
            data,
        )
    if answer.status in NOT_TAKEN:
        not_taken = said + f": the API does not take {method}" + _other_method(ctx, answer)
        return CheckResult(check, Verdict.SKIPPED, (not_taken,))
    if answer.status in FORBIDDEN and not ctx.writes_allowed:
        return CheckResult(check, Verdict.SKIPPED, (f"{said}: {CREDENTIALS}",), data)
    if answer.status in INVALID and not ctx.writes_allowed:
        return CheckResult(check, Verdict.SKIPPED, (f"{said}: {invalid(answer)}",), data)
    if answer.status >= 500:
        return CheckResult(check, Verdict.FAIL, (said,), data)
    return CheckResult(
        check,
        Verdict.WARN,
        (said + ": refused, but 428 Precondition Required (RFC 6585 §3) tells the client why",),
        data,
    )
