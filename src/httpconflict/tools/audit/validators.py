"""The ETag checks: does a GET carry a usable ETag, and does If-None-Match get a 304?"""

from __future__ import annotations

import dataclasses

from httpconflict import ETag, parse_http_date

from .catalog import ETAG, NOT_MODIFIED
from .context import AuditContext
from .verdict import CheckResult, Verdict


async def check_etag(ctx: AuditContext) -> CheckResult:
    """Two GETs of the unchanged resource: an ETag each time, the same one, strong; and a
    word on a Last-Modified that is no HTTP-date, which the verdict leaves to the ETag."""
    result = await _etag(ctx)
    last_modified = ctx.first_read.header("last-modified")
    if last_modified is None:
        return result
    try:
        parse_http_date(last_modified)
    except ValueError:
        # RFC 9110 §8.8.2: Last-Modified = HTTP-date. mealie sends ISO 8601.
        line = (
            f"Last-Modified {last_modified!r} is not an HTTP-date (RFC 9110 §8.8.2): a "
            "client's If-Unmodified-Since or If-Modified-Since cannot name it"
        )
        return dataclasses.replace(result, evidence=(*result.evidence, line))
    return result


async def _etag(ctx: AuditContext) -> CheckResult:
    first = ctx.first_read
    second = await ctx.target.send(ETAG.id, "GET", ctx.item_url)
    tags = [first.header("etag"), second.header("etag")]
    data = {"etags": tags}
    if tags[0] is None or tags[1] is None:
        return CheckResult(
            ETAG.id,
            Verdict.FAIL,
            (
                f"GET {ctx.item_url} answered without an ETag header: there is none to "
                "send in If-Match or If-None-Match",
            ),
            data,
        )
    try:
        parsed = ETag.parse(tags[1])
    except ValueError:
        return CheckResult(
            ETAG.id,
            Verdict.FAIL,
            (f"ETag {tags[1]!r} is not an entity-tag (RFC 9110 §8.8.3: a quoted string)",),
            data,
        )
    if tags[0] != tags[1]:
        return CheckResult(
            ETAG.id,
            Verdict.FAIL,
            (
                f"two GETs of the unchanged resource got different ETags, {tags[0]} then "
                f"{tags[1]}: no If-Match or If-None-Match can ever match",
            ),
            data,
        )
    ctx.etag, ctx.parsed_etag = tags[1], parsed
    if parsed.weak:
        return CheckResult(
            ETAG.id,
            Verdict.WARN,
            (
                f"weak ETag {tags[1]}, stable across GETs; but RFC 9110 §13.1.1 has If-Match "
                "use the strong comparison, so a weak tag can never make a write conditional",
            ),
            {**data, "weak": True},
        )
    return CheckResult(
        ETAG.id,
        Verdict.PASS,
        (f"strong ETag {tags[1]}, the same on two GETs of the unchanged resource",),
        {**data, "weak": False},
    )


async def check_not_modified(ctx: AuditContext) -> CheckResult:
    """GET with If-None-Match: the current ETag answers 304 with no body."""
    if ctx.etag is None:
        return CheckResult(
            NOT_MODIFIED.id, Verdict.SKIPPED, ("no usable ETag to send in If-None-Match",)
        )
    answer = await ctx.target.send(
        NOT_MODIFIED.id, "GET", ctx.item_url, headers={"If-None-Match": ctx.etag}
    )
    data = {"status": answer.status}
    if answer.status == 304:
        # RFC 9110 §15.4.5: "A 304 response is terminated by the end of the
        # header section; it cannot contain content".
        return CheckResult(
            NOT_MODIFIED.id,
            Verdict.PASS,
            (f"GET with If-None-Match: {ctx.etag} -> 304 Not Modified",),
            data,
        )
    if answer.ok:
        return CheckResult(
            NOT_MODIFIED.id,
            Verdict.FAIL,
            (
                f"GET with If-None-Match: {ctx.etag} (the current ETag) -> {answer.status} "
                f"with {len(answer.body)} bytes: the representation sent again instead of "
                "304 Not Modified",
            ),
            data,
        )
    return CheckResult(
        NOT_MODIFIED.id,
        Verdict.FAIL,
        (f"GET with If-None-Match: {ctx.etag} (the current ETag) -> {answer.status}, not 304",),
        data,
    )
