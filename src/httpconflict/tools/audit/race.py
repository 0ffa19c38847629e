"""The lost-update race: concurrent read-modify-write clients on one resource.

Theory of operation: the audit creates a resource with a counter at 0
and an empty marker list, then starts ``--writers`` clients at once. Each
makes ``--rounds`` attempts: GET, then write the counter plus one and its
own write id appended to the markers. The clients are careful: when the
API offers ETags they send the one they read in If-Match, and after a
refusal (412 or 409) their next attempt starts from a fresh GET. What
is lost anyway is counted exactly (`race_tally`). The request count is
fixed in advance, ``2 * writers * rounds`` plus three, and shrinks the
rounds to fit the budget that is left.
"""

from __future__ import annotations

import asyncio
from typing import Any

from .budget import CLEANUP_REQUESTS
from .catalog import LOST_UPDATE
from .context import AuditContext
from .errors import BudgetSpent, DeadlineReached, NoAnswer
from .race_tally import RaceOutcome, WriterTally, measure, next_state, per_writer
from .settings import MARKS
from .verdict import CheckResult, Verdict

CHECK = LOST_UPDATE.id


async def check_lost_update(ctx: AuditContext) -> CheckResult:
    """Race the writers and count the acknowledged writes the final state lost."""
    settings = ctx.settings
    # Create, read the start, read the end; the rest is the writers' reads and writes.
    overhead = 3 + CLEANUP_REQUESTS
    rounds = min(
        settings.rounds, (ctx.target.budget.remaining - overhead) // (2 * settings.writers)
    )
    if rounds < 1:
        return CheckResult(CHECK, Verdict.SKIPPED, ("not enough request budget left for the race",))
    body = {**ctx.new_body(), settings.counter: 0, MARKS: []}
    created, url = await ctx.target.create(CHECK, body)
    if url is None:
        return CheckResult(
            CHECK, Verdict.SKIPPED, (f"could not create the race's resource: {created.summary()}",)
        )
    start = await ctx.target.send(CHECK, "GET", url)
    state = start.document() or {}
    if state.get(settings.counter) != 0:
        return CheckResult(
            CHECK,
            Verdict.SKIPPED,
            (
                f"the API did not keep the counter {settings.counter!r} (0) of the body it was "
                "sent; name a whole-number field it keeps with --counter",
            ),
        )
    careful = ctx.offers_etags
    tallies = [WriterTally(writer) for writer in range(settings.writers)]
    await asyncio.gather(*(_writer(ctx, url, tally, rounds, careful) for tally in tallies))
    end = await ctx.target.send(CHECK, "GET", url)
    try:
        outcome = measure(tallies, 0, end.document() or {}, settings.counter, MARKS)
    except ValueError as error:
        return CheckResult(CHECK, Verdict.FAIL, (f"after the race, {error}",))
    return _verdict(outcome, rounds=rounds, careful=careful, tallies=tallies)


async def _writer(
    ctx: AuditContext, url: str, tally: WriterTally, rounds: int, careful: bool
) -> None:
    for attempt in range(rounds):
        write_id = f"w{tally.writer}.{attempt}"
        try:
            read = await ctx.target.send(CHECK, "GET", url)
            if read.status != 200:
                tally.statuses[read.status] += 1
                continue
            current = read.document() or {}
            changes = next_state(current, ctx.settings.counter, MARKS, write_id)
            etag = read.header("etag") if careful else None
            headers = {"If-Match": etag} if etag else None
            try:
                answer = await ctx.target.write(CHECK, url, current, changes, headers)
            except NoAnswer:
                # The write may have landed: the markers will tell.
                tally.unanswered.append(write_id)
                continue
        except (BudgetSpent, DeadlineReached, NoAnswer) as stop:
            tally.stopped = str(stop)
            return
        except ValueError:
            tally.stopped = "the resource lost its counter"
            return
        tally.statuses[answer.status] += 1
        if answer.ok:
            tally.acknowledged.append(write_id)
        elif answer.status in (409, 412):
            tally.refused += 1


def _verdict(
    outcome: RaceOutcome, *, rounds: int, careful: bool, tallies: list[WriterTally]
) -> CheckResult:
    writers = len(outcome.writers)
    how = (
        "the clients sent the ETag they read in If-Match"
        if careful
        else "the API offers no usable ETag, so the clients wrote without If-Match"
    )
    evidence = [
        f"{writers} writers x {rounds} read-modify-write attempts; {how}",
        f"{outcome.acknowledged} writes acknowledged (2xx), {outcome.refused} refused as stale "
        f"(409/412), counter {outcome.initial} -> {outcome.final}",
    ]
    stopped = {t.stopped for t in tallies if t.stopped}
    evidence.extend(f"a writer stopped early: {reason}" for reason in sorted(stopped))
    unanswered = sum(len(t.unanswered) for t in tallies)
    if unanswered:
        evidence.append(f"{unanswered} writes got no answer ({len(outcome.unacknowledged)} landed)")
    data: dict[str, Any] = {
        "writers": writers,
        "rounds": rounds,
        "careful": careful,
        "acknowledged": outcome.acknowledged,
        "refused": outcome.refused,
        "initial": outcome.initial,
        "final": outcome.final,
        "lost": outcome.lost,
        "lost_by_marks": outcome.lost_by_marks,
        "markers_agree": outcome.agrees,
        "statuses": {str(k): v for k, v in sorted(outcome.statuses.items())},
        "per_writer": [
            {
                "writer": w.writer,
                "acknowledged": w.acknowledged,
                "survived": w.survived,
                "lost": w.lost,
                "refused": w.refused,
            }
            for w in outcome.writers
        ],
    }
    by_marks = outcome.lost_by_marks
    if by_marks is None:
        evidence.append("the API dropped the marker list, so only the counter measures")
    else:
        evidence.append(f"markers (acknowledged/survived): {per_writer(outcome.writers)}")
    if outcome.lost > 0 or (by_marks or 0) > 0:
        lost = max(outcome.lost, by_marks or 0)
        evidence.insert(
            0,
            f"LOST {lost} of {outcome.acknowledged} acknowledged updates "
            f"({outcome.acknowledged} - {outcome.final - outcome.initial} counted"
            + (f"; {by_marks} missing from the markers)" if by_marks is not None else ")"),
        )
        return CheckResult(CHECK, Verdict.FAIL, tuple(evidence), data)
    if outcome.acknowledged == 0:
        evidence.insert(0, "no write was acknowledged, so nothing could be measured")
        return CheckResult(CHECK, Verdict.WARN, tuple(evidence), data)
    if outcome.agrees is False or outcome.lost < 0:
        evidence.insert(
            0,
            f"the counter moved {outcome.final - outcome.initial} times but "
            f"{outcome.marked} writes are marked: writes landed unacknowledged or the API "
            "changed the data itself",
        )
        return CheckResult(CHECK, Verdict.WARN, tuple(evidence), data)
    evidence.insert(0, f"no update lost: {outcome.acknowledged} acknowledged, all counted")
    if careful and outcome.refused == 0:
        evidence.append("no write was refused: the writers may not have overlapped")
    return CheckResult(CHECK, Verdict.PASS, tuple(evidence), data)
