"""A duplicate unique value: 409 Conflict, or a 500 that leaked from the database?

A black box cannot know which fields are unique, so the check runs only
for the fields the user names (``--unique email``): it creates one
resource, then another with the same values in those fields.

A refusal other than 409 is read with ``diagnose``: a body that is a
known error of a database or an ORM (Mealie answers 400 "An unexpected
error occurred" holding SQLAlchemy's IntegrityError, its SQL statement
and parameters) is the violation escaping through a catch-all handler,
not an answer the API decided on, and fails like a 500.

A duplicate sent alone cannot tell a unique index from a look-up made
before the insert: both refuse it. So the same values are then sent in
POSTs at once, as a double submit or two clients do. A look-up races
(each POST finds nothing, then all insert), and its loser's
IntegrityError is a 500 (the FastAPI full-stack template's users: 7 of 8
such POSTs), or, with no index behind it, a duplicate made.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from typing import Any, Final

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
#: How many POSTs of the same unique values are sent at once.
TOGETHER: Final = 4


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
    alone = _alone(said, data, second, url, second_url, values, fields)
    if alone.verdict is Verdict.FAIL or ctx.target.budget.remaining < TOGETHER * 3:
        return alone
    return await _together(ctx, alone, fields)


def _alone(
    said: str,
    data: dict[str, Any],
    second: Exchange,
    url: str,
    second_url: str | None,
    values: str,
    fields: tuple[str, ...],
) -> CheckResult:
    """The verdict on a duplicate sent after the first POST was answered."""
    if second.status == 409:
        # RFC 9110 §15.5.10: 409 "indicates that the request could not be
        # completed due to a conflict with the current state of the target resource".
        named = _naming(fields, second.body)
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


async def _together(ctx: AuditContext, alone: CheckResult, fields: tuple[str, ...]) -> CheckResult:
    """`alone`, failed when POSTs of one set of unique values sent at once get a 5xx, the
    database's own error, or make more than one resource."""
    first = ctx.new_body()
    same = {name: first[name] for name in fields}
    bodies = [first, *({**ctx.new_body(), **same} for _ in range(TOGETHER - 1))]
    made = await asyncio.gather(*(ctx.target.create(CHECK, body) for body in bodies))
    statuses = Counter(answer.status for answer, _ in made)
    urls = {url for _, url in made if url is not None}
    escaped = next(
        (said for answer, _ in made if not answer.ok and (said := _passed_through(answer))), None
    )
    shared = ", ".join(f"{name}={value!r}" for name, value in same.items())
    answers = ", ".join(f"{status} x{count}" for status, count in sorted(statuses.items()))
    said = f"{TOGETHER} POSTs with {shared} sent at once -> {answers}"
    data = {**alone.data, "together": {str(s): n for s, n in sorted(statuses.items())}}
    if any(status >= 500 for status in statuses) or escaped:
        how = "a server error" if escaped is None else "the database's own error"
        reason = (
            f": the unique violation escaped as {how} when the duplicates came together: a "
            "look-up before the insert races; let the unique index decide, and answer its "
            "violation 409 Conflict"
        )
        extra = (escaped,) if escaped else ()
        return CheckResult(CHECK, Verdict.FAIL, (*alone.evidence, said + reason, *extra), data)
    if len(urls) > 1:
        reason = (
            f": {len(urls)} resources made; {', '.join(fields)} is unique only when "
            "duplicates come one after another (a look-up before the insert, no unique index)"
        )
        return CheckResult(CHECK, Verdict.FAIL, (*alone.evidence, said + reason), data)
    return CheckResult(CHECK, alone.verdict, (*alone.evidence, said), data)


#: RFC 9457's own members: a problem's "title" names no field.
_PROBLEM_MEMBERS: Final = frozenset({"type", "title", "status", "detail", "instance"})


def _naming(fields: tuple[str, ...], body: bytes) -> str:
    """What a 409 says of the fields it names: "; the answer names email", or ""."""
    try:
        data = json.loads(body)
    except ValueError:
        data = body.decode("utf-8", "replace")
    listed = _conflict_fields(data)
    if listed:  # a problem's "conflicts" (httpconflict's shape) say which fields exactly
        others = [name for name in fields if name not in listed]
        return f"; the answer names {', '.join(listed)}" + (
            f", not {', '.join(others)}" if others else ""
        )
    texts: list[str] = []
    _texts(data, texts)
    names = [name for name in fields if any(_mentions(text, name) for text in texts)]
    return f"; the answer names {', '.join(names)}" if names else ""


def _conflict_fields(data: object) -> list[str]:
    """The fields a problem's ``conflicts`` members name, in order, once each."""
    conflicts = data.get("conflicts") if isinstance(data, dict) else None
    names: list[str] = []
    for conflict in conflicts if isinstance(conflicts, list) else ():
        listed = conflict.get("fields") if isinstance(conflict, dict) else None
        for name in listed if isinstance(listed, list) else ():
            if isinstance(name, str) and name not in names:
                names.append(name)
    return names


def _texts(value: object, into: list[str]) -> None:
    """A JSON value's strings and member names (a problem's own members excepted at its
    top: every problem has a "title")."""
    stack = [(value, True)]
    while stack:
        item, top = stack.pop()
        if isinstance(item, str):
            into.append(item)
        elif isinstance(item, dict):
            for name, member in item.items():
                if not (top and name in _PROBLEM_MEMBERS):
                    into.append(name)
                stack.append((member, False))
        elif isinstance(item, list):
            stack.extend((member, False) for member in item)


def _mentions(text: str, name: str) -> bool:
    """Whether `text` holds `name` as a whole word ("email", not "emails" or "e_mail_x")."""
    return re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text) is not None


def _passed_through(answer: Exchange) -> str | None:
    """What an answer's body is, when it is a known error of another system passed through
    (a database's unique violation, an ORM's IntegrityError); else None."""
    text = answer.body.decode("utf-8", "replace")
    best = diagnose(text).best
    if best is None or best.entry.tier != 0 or best.entry.slug is not None:
        return None  # not recognised, read from its words only, or an answer of httpconflict's
    said = f"its body is the error {best.entry.title!r}, passed through"
    return said + (", its SQL statement with it" if _SQL.search(text) else "")
