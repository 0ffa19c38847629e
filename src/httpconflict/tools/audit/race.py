"""The lost-update race: concurrent read-modify-write clients of one pure counter.

Theory of operation: the audit creates a resource with a counter at 0,
then starts ``--writers`` clients at once. Each makes ``--rounds``
attempts: GET, then write the counter it read plus one (`race_tally`
says why nothing else). The clients are careful: they name the version
they read as the API takes it (If-Match when it sends ETags, its version
members in the body), and after a refusal (412 or 409) their next
attempt starts from a fresh GET. What is lost anyway is counted exactly,
and every 5xx answer fails the race whatever the count says. The request
count is fixed in advance, ``2 * writers * rounds`` plus three, and
shrinks the rounds to fit the budget that is left.
"""

from __future__ import annotations

import asyncio
from typing import Any

from .budget import CLEANUP_REQUESTS
from .catalog import LOST_UPDATE
from .context import AuditContext
from .errors import BudgetSpent, DeadlineReached, NoAnswer
from .preconditions import CREDENTIALS, FORBIDDEN, INVALID, NOT_TAKEN
from .race_tally import (
    RaceOutcome,
    WriterTally,
    count_of,
    counted,
    measure,
    next_count,
    per_writer,
)
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
    template = ctx.new_body()
    # A counter the body template gives as a string ("0") is counted in a string.
    body = {**template, settings.counter: counted(template.get(settings.counter), 0)}
    created, url = await ctx.target.create(CHECK, body)
    if url is None:
        said = f"could not create the race's resource: {created.summary()}"
        if created.status in (400, 422) and settings.counter not in template:
            said += (
                f" (its body is --body's with the counter {settings.counter!r}: 0 added; "
                "name a whole-number member the API keeps with --counter, given in --body)"
            )
        return CheckResult(CHECK, Verdict.SKIPPED, (said,))
    start = await ctx.target.send(CHECK, "GET", url)
    if count_of((start.document() or {}).get(settings.counter)) != 0:
        return CheckResult(
            CHECK,
            Verdict.SKIPPED,
            (
                f"the API did not keep the counter {settings.counter!r} (0) of the body it was "
                "sent; name a whole-number field it keeps with --counter (or a string field, "
                'given as "0" in --body)',
            ),
        )
    tallies = [WriterTally(writer) for writer in range(settings.writers)]
    await asyncio.gather(*(_writer(ctx, url, tally, rounds) for tally in tallies))
    end = await ctx.target.send(CHECK, "GET", url)
    try:
        outcome = measure(tallies, 0, end.document() or {}, settings.counter)
    except ValueError as error:
        return CheckResult(CHECK, Verdict.FAIL, (f"after the race, {error}",))
    return _verdict(ctx, outcome, rounds)


async def _writer(ctx: AuditContext, url: str, tally: WriterTally, rounds: int) -> None:
    counter = ctx.settings.counter
    for _ in range(rounds):
        try:
            read = await ctx.target.send(CHECK, "GET", url)
            tally.reads += 1
            if read.status != 200:
                tally.statuses[read.status] += 1
                tally.read_errors += read.status >= 500
                continue
            current = read.document() or {}
            version = ctx.version(read) if ctx.careful else None
            body = ctx.body(current, {counter: next_count(current, counter)}, version)
            try:
                answer = await ctx.target.write(CHECK, url, body, ctx.headers(version))
            except NoAnswer:
                # The write may have landed: the counter will tell.
                tally.unanswered += 1
                continue
        except (BudgetSpent, DeadlineReached, NoAnswer) as stop:
            tally.stopped = str(stop)
            return
        except ValueError:
            tally.stopped = "the resource lost its counter"
            return
        tally.statuses[answer.status] += 1
        tally.writes += 1
        if answer.ok:
            tally.acknowledged += 1
            tally.answer_etags.append(answer.header("etag"))
        elif answer.status in (409, 412):
            tally.refused += 1
        elif answer.status >= 500:
            tally.write_errors += 1


def _how(ctx: AuditContext) -> str:
    members = ", ".join(ctx.version_members)
    if ctx.offers_etags and members:
        return f"the clients named the version they read: If-Match, and {members} in the body"
    if ctx.offers_etags:
        return "the clients sent the ETag they read in If-Match"
    if members:
        return f"the clients sent the version they read in the body ({members})"
    return "the audit saw no ETag and no version member, so the clients named no version"


def _verdict(ctx: AuditContext, outcome: RaceOutcome, rounds: int) -> CheckResult:
    writers = len(outcome.writers)
    statuses = ", ".join(f"{s} x{n}" for s, n in sorted(outcome.statuses.items()))
    evidence = [
        f"{writers} writers x {rounds} read-modify-write attempts of one counter, each "
        "writing only the count it read plus one; " + _how(ctx),
        f"{outcome.acknowledged} writes acknowledged (2xx), {outcome.refused} refused as stale "
        f"(409/412), counter {outcome.initial} -> {outcome.final}; answers: {statuses or 'none'}",
    ]
    stopped = {t.stopped for t in outcome.writers if t.stopped}
    evidence.extend(f"a writer stopped early: {reason}" for reason in sorted(stopped))
    if outcome.unanswered:
        evidence.append(f"{outcome.unanswered} writes got no answer (they may have landed)")
    data: dict[str, Any] = {
        "writers": writers,
        "rounds": rounds,
        "careful": ctx.careful,
        "version_members": list(ctx.version_members),
        "acknowledged": outcome.acknowledged,
        "refused": outcome.refused,
        "server_errors": outcome.server_errors,
        "unanswered": outcome.unanswered,
        "initial": outcome.initial,
        "final": outcome.final,
        "lost": outcome.lost,
        "repeated_etags": outcome.repeated_etags,
        "statuses": {str(k): v for k, v in sorted(outcome.statuses.items())},
        "per_writer": per_writer(outcome.writers),
    }
    verdict = Verdict.PASS
    if outcome.lost > 0:
        verdict = Verdict.FAIL
        at_least = "at least " if outcome.unanswered else ""
        evidence.insert(
            0,
            f"LOST {at_least}{outcome.lost} of {outcome.acknowledged} acknowledged updates: "
            f"{outcome.acknowledged} acknowledged, the counter moved {outcome.moved}",
        )
        if outcome.repeated_etags:
            evidence.append(
                f"{outcome.repeated_etags} acknowledged writes were answered with an ETag "
                "another acknowledged write had already been given"
            )
        if ctx.shortcut is not None:
            evidence.append("the if-match check saw " + ctx.shortcut)
        elif ctx.careful and ctx.stale_refused:
            evidence.append(
                "yet a stale write sent alone was refused (the if-match check): the API checks "
                "the version and then writes, in two steps, so writers that read the same "
                "version all pass the check before any of them writes; the check and the write "
                "must be one step (UPDATE ... WHERE version = the one named)"
            )
    if outcome.server_errors:
        verdict = Verdict.FAIL
        errors = [
            f"{outcome.total(kind + '_errors')} of {outcome.total(kind + 's')} {kind}s"
            for kind in ("write", "read")
            if outcome.total(kind + "_errors")
        ]
        evidence.insert(
            0 if outcome.lost == 0 else 1,
            f"SERVER ERRORS: {' and '.join(errors)} answered 5xx",
        )
    if verdict is Verdict.FAIL:
        return CheckResult(CHECK, verdict, tuple(evidence), data)
    if outcome.acknowledged == 0:
        evidence.insert(0, "no write was acknowledged, so nothing could be measured")
        answered = set(outcome.statuses)
        if answered & set(FORBIDDEN):
            evidence.append(f"writes answered {'/'.join(map(str, FORBIDDEN))}: {CREDENTIALS}")
        # A body refused as invalid before any write of the audit's was taken says nothing
        # of versions either.
        invalid = () if ctx.writes_allowed else INVALID
        if answered & set(invalid):
            evidence.append(
                f"writes answered {'/'.join(map(str, INVALID))}: refused as invalid, not for "
                "the version they name: give --body the members a write must hold"
            )
        if answered and answered <= {*NOT_TAKEN, *FORBIDDEN, *invalid}:
            return CheckResult(CHECK, Verdict.SKIPPED, tuple(evidence), data)
        return CheckResult(CHECK, Verdict.WARN, tuple(evidence), data)
    if outcome.unexplained:
        evidence.insert(
            0,
            f"the counter moved {outcome.moved} times for {outcome.acknowledged} acknowledged "
            "writes: the API changed it some other way",
        )
        return CheckResult(CHECK, Verdict.WARN, tuple(evidence), data)
    evidence.insert(0, f"no update lost: {outcome.acknowledged} acknowledged, all counted")
    if ctx.careful and outcome.refused == 0:
        evidence.append("no write was refused: the writers may not have overlapped")
    return CheckResult(CHECK, verdict, tuple(evidence), data)
