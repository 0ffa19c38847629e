"""A duplicate unique value: 409 Conflict, or a 500 that leaked from the database?

A black box cannot know which fields are unique, so the check runs only
for the fields the user names (``--unique email``): it creates one
resource, then another with the same values in those fields.
"""

from __future__ import annotations

from .catalog import UNIQUE
from .context import AuditContext
from .verdict import CheckResult, Verdict

CHECK = UNIQUE.id


async def check_unique(ctx: AuditContext) -> CheckResult:
    """The second resource with the same unique values answers 409."""
    fields = ctx.settings.unique
    if not fields:
        return CheckResult(
            CHECK,
            Verdict.SKIPPED,
            ("no --unique field named: a black box cannot know which fields are unique",),
        )
    body = ctx.new_body()
    first, url = await ctx.target.create(CHECK, body)
    if url is None:
        return CheckResult(
            CHECK, Verdict.SKIPPED, (f"could not create the first resource: {first.summary()}",)
        )
    same = {name: body[name] for name in fields}
    second, second_url = await ctx.target.create(CHECK, {**ctx.new_body(), **same})
    values = ", ".join(f"{name}={value!r}" for name, value in same.items())
    said = f"a second POST with {values} -> {second.status}"
    data = {"status": second.status, "fields": list(fields)}
    if second.status == 409:
        # RFC 9110 §15.5.10: 409 "indicates that the request could not be
        # completed due to a conflict with the current state of the target resource".
        text = second.body.decode("utf-8", "replace")
        names = [name for name in fields if name in text]
        named = f"; the answer names {', '.join(names)}" if names else ""
        return CheckResult(CHECK, Verdict.PASS, (said + " Conflict" + named,), data)
    if second.status >= 500:
        return CheckResult(
            CHECK,
            Verdict.FAIL,
            (said + ": the unique violation escaped as a server error (it is a 409 Conflict)",),
            data,
        )
    if second.ok:
        made = "a second resource" if second_url and second_url != url else "an answer"
        return CheckResult(
            CHECK,
            Verdict.FAIL,
            (said + f": accepted ({made}); {values} is not unique, or not enforced",),
            data,
        )
    return CheckResult(
        CHECK, Verdict.WARN, (said + ": refused, but a duplicate is a 409 Conflict",), data
    )
