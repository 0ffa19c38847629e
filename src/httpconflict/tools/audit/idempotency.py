"""Duplicate POSTs: is a retry with the same Idempotency-Key replayed or repeated?

Theory of operation (draft-ietf-httpapi-idempotency-key-header): a client
that sends a POST again after a timeout sends the same Idempotency-Key,
and the server answers the retry with the first request's answer instead
of running it again. The check sends ``--duplicates`` identical POSTs with
one key and counts the resources they made (1 is right), then the same
key with another payload (422 is the draft's answer), then the identical
POSTs without a key, whose count shows what a retry does without one.
"""

from __future__ import annotations

from typing import Any

from .catalog import IDEMPOTENCY_KEY
from .context import AuditContext
from .exchange import Exchange
from .verdict import CheckResult, Verdict

CHECK = IDEMPOTENCY_KEY.id


async def _post_times(
    ctx: AuditContext, body: dict[str, Any], times: int, key: str | None
) -> tuple[list[Exchange], list[str | None]]:
    headers = {"Idempotency-Key": key} if key else None
    answers: list[Exchange] = []
    urls: list[str | None] = []
    for _ in range(times):
        answer, url = await ctx.target.create(CHECK, body, headers)
        answers.append(answer)
        urls.append(url)
    return answers, urls


async def check_idempotency_key(ctx: AuditContext) -> CheckResult:
    """N identical POSTs with one key make one resource; another payload is refused."""
    times = ctx.settings.duplicates
    key = f"httpconflict-audit-{ctx.uid()}"
    body = ctx.new_body()
    keyed, keyed_urls = await _post_times(ctx, body, times, key)
    first = keyed[0]
    if not first.ok or keyed_urls[0] is None:
        verdict = Verdict.FAIL if first.status >= 500 else Verdict.WARN
        return CheckResult(CHECK, verdict, (f"a POST with an Idempotency-Key: {first.summary()}",))
    created_with_key = len({url for url in keyed_urls if url})
    retries = keyed[1:]
    replayed = sum(1 for url in keyed_urls[1:] if url == keyed_urls[0])
    marked = sum(1 for a in retries if (a.header("idempotent-replayed") or "").lower() == "true")
    another = _another_payload(body, ctx.new_body())
    other, other_url = (None, None)
    if another is not None:
        other, other_url = await ctx.target.create(CHECK, another, {"Idempotency-Key": key})
    plain, plain_urls = await _post_times(ctx, ctx.new_body(), times, None)
    created_without_key = len({url for url in plain_urls if url})
    data = {
        "duplicates": times,
        "created_with_key": created_with_key,
        "replayed": replayed,
        "marked_replayed": marked,
        "statuses_with_key": [a.status for a in keyed],
        "other_payload_status": None if other is None else other.status,
        "created_without_key": created_without_key,
        "statuses_without_key": [a.status for a in plain],
    }
    evidence = [
        f"{times} identical POSTs with one Idempotency-Key created {created_with_key} "
        f"resource(s) (statuses {', '.join(str(a.status) for a in keyed)}); "
        f"{replayed} of {len(retries)} retries replayed the first answer"
        + (f", {marked} marked Idempotent-Replayed: true" if marked else ""),
        f"without a key, {times} identical POSTs created {created_without_key} resource(s) "
        f"(statuses {', '.join(str(a.status) for a in plain)})",
    ]
    verdict = Verdict.PASS
    if created_with_key > 1:
        evidence[0] = "DUPLICATED: " + evidence[0]
        verdict = Verdict.FAIL
    elif any(a.status >= 500 for a in retries):
        evidence.append("a retry answered a server error instead of the first answer")
        verdict = Verdict.FAIL
    elif replayed < len(retries):
        evidence.append("some retries were refused instead of replayed")
        verdict = Verdict.WARN
    if other is None:
        evidence.append(
            "the same key with another payload: not sent (the --body has no {uid} and no "
            "string or number member to vary)"
        )
        return CheckResult(CHECK, verdict, tuple(evidence), data)
    said = f"the same key with another payload -> {other.status}"
    if other.status == 422:
        evidence.append(said + " (refused, as the draft asks)")
    elif other.ok and other_url is not None and other_url != keyed_urls[0]:
        evidence.append(said + ": a new resource, the key is not tied to its request")
        verdict = Verdict.FAIL if verdict is not Verdict.PASS else Verdict.WARN
    elif other.ok:
        evidence.append(
            said + ": the first answer, replayed for a different request (422 is right)"
        )
        verdict = Verdict.WARN if verdict is Verdict.PASS else verdict
    else:
        evidence.append(said + " (refused; the draft's status is 422)")
    return CheckResult(CHECK, verdict, tuple(evidence), data)


def _another_payload(first: dict[str, Any], fresh: dict[str, Any]) -> dict[str, Any] | None:
    """A body other than `first` for the same key: a fresh one from the template, or (a
    template without {uid} renders the same body) `first` with one member changed."""
    if fresh != first:
        return fresh
    for name, value in first.items():
        if isinstance(value, str):
            return {**first, name: value + " (another)"}
    for name, value in first.items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            return {**first, name: value + 1}
    return None
