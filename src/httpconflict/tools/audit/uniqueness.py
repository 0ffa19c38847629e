"""A duplicate unique value: 409 Conflict, or a 500 that leaked from the database?

A black box cannot know which fields are unique, so the check runs only
for the fields the user names (``--unique email``): it creates one
resource, then another with the same values in those fields.

A refusal other than 409 is read with ``diagnose``: a body that is a
known error of a database or an ORM (Mealie answers 400 "An unexpected
error occurred" holding SQLAlchemy's IntegrityError, its SQL statement
and parameters) is the violation escaping through a catch-all handler,
not an answer the API decided on, and fails like a 500.
"""

from __future__ import annotations

import re
from typing import Final

from ..diagnose.matching import diagnose
from .catalog import UNIQUE
from .context import AuditContext
from .exchange import Exchange
from .verdict import CheckResult, Verdict

CHECK = UNIQUE.id
#: An SQL statement quoted in an answer (SQLAlchemy's "[SQL: ...]", a driver's own text).
_SQL: Final = re.compile(
    r"\[SQL: |\b(?:INSERT\s+INTO|UPDATE\s+\S+\s+SET|DELETE\s+FROM)\s", re.IGNORECASE
)


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
    escaped = _passed_through(second)
    if second.status >= 500 or (escaped and not second.ok):
        how = "a server error" if second.status >= 500 else "the database's own error"
        return CheckResult(
            CHECK,
            Verdict.FAIL,
            (
                said + f": the unique violation escaped as {how} (it is a 409 Conflict)",
                *([escaped] if escaped else []),
            ),
            {**data, "passed_through": escaped is not None},
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


def _passed_through(answer: Exchange) -> str | None:
    """What an answer's body is, when it is a known error of another system passed through
    (a database's unique violation, an ORM's IntegrityError); else None."""
    text = answer.body.decode("utf-8", "replace")
    best = diagnose(text).best
    if best is None or best.entry.tier != 0 or best.entry.slug is not None:
        return None  # not recognised, read from its words only, or an answer of httpconflict's
    said = f"its body is the error {best.entry.title!r}, passed through"
    return said + (", its SQL statement with it" if _SQL.search(text) else "")
