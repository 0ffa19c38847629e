"""Error answers as RFC 9457 problem details.

Theory of operation: the check provokes two ordinary errors (a GET of an
item that does not exist, a POST of malformed JSON), then judges every
error answer (4xx and 5xx) the audit has seen so far, the 412s, 428s and
409s of the other checks included: a program can act on a conflict only
if the answer says what it was, in a shape it can parse.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable
from typing import Final

from httpconflict import ProblemDetails

from .catalog import PROBLEM_JSON
from .context import AuditContext
from .exchange import Exchange
from .verdict import CheckResult, Verdict

CHECK = PROBLEM_JSON.id
PROBLEM_MEDIA_TYPE: Final = "application/problem+json"


class Shape(enum.StrEnum):
    """What an error answer's body is, for a program that reads it."""

    PROBLEM = "problem+json"
    #: A problem object, but sent as another media type.
    UNLABELLED = "problem object, wrong media type"
    #: Labelled problem+json, but not a valid problem object.
    MALFORMED = "malformed problem+json"
    OTHER = "not a problem"


def classify(answer: Exchange) -> Shape:
    """Judge one error answer against RFC 9457 §3."""
    body = answer.json()
    labelled = answer.media_type == PROBLEM_MEDIA_TYPE
    if not isinstance(body, dict):
        return Shape.MALFORMED if labelled else Shape.OTHER
    # RFC 9457 §3.1.2: "The "status" member, if present, is only advisory
    # ... generators MUST use the same status code in the actual HTTP response".
    # A member of the wrong type is ignored (§3.1), so from_dict drops it.
    problem = ProblemDetails.from_dict(body)
    members = ("type", "title", "status", "detail", "instance")
    well_typed = all(
        name not in body or body[name] == problem.to_dict().get(name) for name in members
    )
    looks_like_one = well_typed and (problem.type != "about:blank" or problem.title is not None)
    if labelled:
        return (
            Shape.PROBLEM
            if well_typed and problem.status in (None, answer.status)
            else (Shape.MALFORMED)
        )
    return Shape.UNLABELLED if looks_like_one else Shape.OTHER


def _preview(answer: Exchange) -> str:
    text = answer.body.decode("utf-8", "replace").strip().replace("\n", " ")
    return text[:60] + ("..." if len(text) > 60 else "") if text else "(empty body)"


def summarize(answers: Iterable[Exchange]) -> tuple[Counter[Shape], list[str]]:
    """Count the shapes; one line of evidence per media type and shape, naming the statuses."""
    shapes: Counter[Shape] = Counter()
    groups: dict[tuple[str, Shape], list[Exchange]] = {}
    for answer in answers:
        shape = classify(answer)
        shapes[shape] += 1
        groups.setdefault((answer.media_type or "no media type", shape), []).append(answer)
    lines = []
    for (media_type, shape), members in sorted(groups.items()):
        statuses = Counter(a.status for a in members)
        listed = ", ".join(
            f"{status} x{times}" if times > 1 else str(status)
            for status, times in sorted(statuses.items())
        )
        line = f"{media_type}: {listed}"
        if shape is not Shape.PROBLEM:
            line += f"; {shape.value}, e.g. {members[0].status} {_preview(members[0])}"
        lines.append(line)
    return shapes, lines


async def check_problem_json(ctx: AuditContext) -> CheckResult:
    """Every error answer seen is application/problem+json with a valid problem object."""
    base = ctx.target.collection_url.rstrip("/")
    await ctx.target.send(CHECK, "GET", f"{base}/httpconflict-audit-absent-{ctx.uid()}")
    await ctx.target.send(CHECK, "POST", ctx.target.collection_url, content=b'{"unclosed')
    errors = [a for a in ctx.target.exchanges if a.status >= 400]
    if not errors:
        return CheckResult(CHECK, Verdict.SKIPPED, ("no error answer was seen",))
    shapes, lines = summarize(errors)
    good = shapes[Shape.PROBLEM]
    data = {"errors": len(errors), "problems": good, **{s.name.lower(): shapes[s] for s in Shape}}
    head = f"{good} of {len(errors)} error answers were valid application/problem+json"
    if good == len(errors):
        verdict = Verdict.PASS
    elif good or shapes[Shape.UNLABELLED] or shapes[Shape.MALFORMED]:
        verdict = Verdict.WARN
    else:
        verdict = Verdict.FAIL
    return CheckResult(CHECK, verdict, (head, *lines), data)
