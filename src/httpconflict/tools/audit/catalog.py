"""The checks, their weights, and the score.

=====================  ======  ==================================================
check                  weight  passes when
=====================  ======  ==================================================
etag                        5  GET sends a strong ETag, the same one twice
not-modified                5  GET with If-None-Match: <that ETag> answers 304
if-match                   20  a write naming a stale version answers 412 (or 409)
precondition-required      10  a write naming no version answers 428
delete                     10  a DELETE naming a stale version answers 412 (or
                               409), one naming none 428
lost-update                25  concurrent read-modify-write clients lose nothing
                               and get no 5xx
idempotency-key            15  a POST retried with its Idempotency-Key is replayed
unique                      5  a duplicate value of a ``--unique`` field answers 409
problem-json                5  every error answer is application/problem+json
=====================  ======  ==================================================

The score is ``100 * sum(weight * credit) / sum(weight)`` over the checks
that were not skipped, with credit 1 for pass, 0.5 for warn and 0 for
fail, rounded to a whole number. The weights follow the cost of the flaw:
a lost update silently destroys data (25), ignoring a stale version is
what lets it happen (20), a duplicated POST repeats a side effect (15), a
blind write or a stale DELETE destroys what another client just wrote
(10 each); the others make conflicts harder to avoid or to understand (an
ETag is one way to carry the version: a body member is another).

A version is stale when it was read before the resource's last change,
and a write names it as the API takes it: If-Match (the ETag), the
body's version member (CouchDB's ``_rev``, django-concurrency's
``version``), or both. Any 5xx answer to a check's request fails that
check.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from .verdict import CheckResult, Verdict


@dataclass(frozen=True, slots=True)
class Check:
    """One check of the audit: its id, its title in reports, its weight."""

    id: str
    title: str
    weight: int


ETAG: Final = Check("etag", "ETags: sent, strong, stable", 5)
NOT_MODIFIED: Final = Check("not-modified", "304 to If-None-Match", 5)
IF_MATCH: Final = Check("if-match", "stale write refused", 20)
PRECONDITION_REQUIRED: Final = Check("precondition-required", "blind write refused (428)", 10)
DELETE: Final = Check("delete", "stale and blind DELETE refused", 10)
LOST_UPDATE: Final = Check("lost-update", "lost-update race", 25)
IDEMPOTENCY_KEY: Final = Check("idempotency-key", "POST retried with Idempotency-Key", 15)
UNIQUE: Final = Check("unique", "duplicate unique value -> 409", 5)
PROBLEM_JSON: Final = Check("problem-json", "errors as problem+json (RFC 9457)", 5)

CHECKS: Final = (
    ETAG,
    NOT_MODIFIED,
    IF_MATCH,
    PRECONDITION_REQUIRED,
    DELETE,
    LOST_UPDATE,
    IDEMPOTENCY_KEY,
    UNIQUE,
    PROBLEM_JSON,
)
BY_ID: Final = {check.id: check for check in CHECKS}
CREDIT: Final = {Verdict.PASS: 1.0, Verdict.WARN: 0.5, Verdict.FAIL: 0.0}


def score(results: Iterable[CheckResult]) -> int | None:
    """0-100 over the checks that ran; None when none did."""
    earned = possible = 0.0
    for result in results:
        if result.verdict is Verdict.SKIPPED:
            continue
        weight = BY_ID[result.check].weight
        possible += weight
        earned += weight * CREDIT[result.verdict]
    if not possible:
        return None
    return round(100 * earned / possible)
