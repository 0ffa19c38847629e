"""From a write flow that did not write to the error a server answers with.

Every adapter that drives `write_flow` (the SQLAlchemy helper, the FastAPI
dependency, Django, Flask) ends the same way when the write is refused: a
404, a 412 naming the version now stored, a 428 explaining how to resubmit
(RFC 6585 §3 "SHOULD explain how to resubmit"), or a 503 when every attempt
lost a race. Keeping that mapping here means an adapter only raises what
this returns, and all of them word their answers alike.
"""

from __future__ import annotations

from typing import Final

from ._errors import MergeConflict, NotFound, PreconditionFailed, PreconditionRequired, ProblemError
from ._patch_flow import PatchDecision, PatchOutcome
from ._preconditions import Conditions, Decision, Validators
from ._problem import CONTENDED
from ._write import WriteDecision, WriteOutcome

# A patch can clash on thousands of pointers, each up to 128 tokens long.
_NAMED_CONFLICTS: Final = 10


class Contended(ProblemError):
    """Every attempt of a conditional write lost a race with another writer (503)."""

    problem_type = CONTENDED

    def __init__(self, detail: str, *, retry_after: int = 1) -> None:
        super().__init__(detail, retry_after=retry_after)
        self.retry_after = retry_after


def current_etag(current: Validators | None) -> str | None:
    """The field value a client puts in If-Match next (None when nothing exists)."""
    etag = current.etag if current is not None else None
    return etag.to_header() if etag is not None else None


def precondition_failed(
    current: Validators | None, conditions: Conditions | None = None
) -> PreconditionFailed:
    """The 412 for a stale version, naming the one now stored.

    With the request's `conditions`, a write guarded by If-Unmodified-Since
    alone is told what a date cannot say (RFC 9110 §8.8.2.2).
    """
    etag = current_etag(current)
    if (
        conditions is not None
        and conditions.if_match is None
        and conditions.if_unmodified_since is not None
        and current is not None
        and current.last_modified is not None
        and etag is not None
    ):
        return PreconditionFailed(
            "If-Unmodified-Since names a second, and this resource changed after it, or "
            "within it (where a date cannot tell one version from another, or a write would "
            f"leave two versions with one date): its current ETag is {etag}; GET it and send "
            "that ETag in If-Match, or retry a moment later with the Last-Modified you read",
            current_etag=etag,
        )
    if current is not None and conditions is not None and _none_match_failed(current, conditions):
        assert conditions.if_none_match is not None
        detail = (
            "the resource exists (If-None-Match: *)"
            if conditions.if_none_match.any
            else f"its current ETag, {etag}, is one that If-None-Match names"
        )
        return PreconditionFailed(detail, current_etag=etag)
    if current is None:
        detail = "the resource does not exist (If-Match needs a current version)"
    elif etag is None:
        detail = (
            "the resource has no entity-tag, so no tag in If-Match can match it; "
            "send If-Match: * to require only that it exists"
        )
    else:
        detail = (
            f"the resource has changed: its current ETag is {etag}; "
            "GET it, re-apply your change and retry with that ETag in If-Match"
        )
    return PreconditionFailed(detail, current_etag=etag)


def _none_match_failed(current: Validators, conditions: Conditions) -> bool:
    """Whether If-None-Match is what failed: If-Match, checked first, held or was absent."""
    if conditions.if_none_match is None:
        return False
    if_match = conditions.if_match
    return (
        if_match is None
        or if_match.any
        or (current.etag is not None and if_match.strong_match(current.etag))
    )


def precondition_required(
    conditions: Conditions | None = None, *, creating: bool = False
) -> PreconditionRequired:
    """The 428 for a write to an existing resource that names no version.

    `conditions`: the request's, so that an If-None-Match naming versions
    is said to guard nothing; `creating`: the write may create the
    resource (a PUT), so the way to create it only if absent is said too.
    """
    return PreconditionRequired(
        "this resource exists: GET it and send its ETag in If-Match, so the write "
        "applies only to the version you read"
        + _tags_not_guarding(conditions)
        + ("; to create it only if absent, send If-None-Match: *" if creating else "")
    )


def _tags_not_guarding(conditions: Conditions | None) -> str:
    """Why an If-None-Match naming versions was no guard, when the request sent one."""
    if conditions is None or conditions.if_none_match is None or conditions.if_none_match.any:
        return ""
    return (
        " (If-None-Match naming versions lets every other version through, one written "
        "since you read included: it guards no write)"
    )


def refusal(decision: WriteDecision, conditions: Conditions | None = None) -> ProblemError | None:
    """The error to answer a finished write flow with, or None when it succeeded."""
    match decision.outcome:
        case WriteOutcome.WRITTEN | WriteOutcome.UNCHANGED:
            return None
        case WriteOutcome.NOT_FOUND:
            return NotFound("the resource does not exist")
        case WriteOutcome.PRECONDITION_REQUIRED:
            return precondition_required(conditions)
        case WriteOutcome.PRECONDITION_FAILED:
            return precondition_failed(decision.current, conditions)
        case _:
            return Contended("every attempt lost a race with another writer; retry")


def patch_refusal(
    decision: PatchDecision, conditions: Conditions | None = None
) -> ProblemError | None:
    """The error to answer a finished patch flow with, or None when it succeeded."""
    match decision.outcome:
        case PatchOutcome.WRITTEN | PatchOutcome.UNCHANGED:
            return None
        case PatchOutcome.NOT_FOUND:
            return NotFound("the resource does not exist")
        case PatchOutcome.PRECONDITION_REQUIRED:
            return PreconditionRequired(
                "this resource exists: GET it and send its ETag in If-Match with the patch, so "
                "the patch applies only to the version it was made from"
                + _tags_not_guarding(conditions)
            )
        case PatchOutcome.PRECONDITION_FAILED:
            return precondition_failed(decision.current, conditions)
        case PatchOutcome.BASE_UNKNOWN:
            etag = current_etag(decision.current)
            return PreconditionFailed(
                "the version If-Match names is no longer kept, so your patch cannot be rebased: "
                f"GET the resource (its ETag is {etag}), make the change again and retry",
                current_etag=etag,
            )
        case PatchOutcome.REBASE_DECLINED:
            etag = current_etag(decision.current)
            return PreconditionFailed(
                "the version If-Match names is not current, and Prefer: rebase is declined: "
                "rebasing your patch would compare more JSON values (of the versions it lists, "
                "the current one and the patch) than one request may; GET the resource (its ETag "
                f"is {etag}), make the change again and retry",
                current_etag=etag,
            )
        case PatchOutcome.CONFLICT:
            # The detail names the first few; `conflicts` lists them all.
            shown = decision.conflicts[:_NAMED_CONFLICTS]
            listed = ", ".join(str(c.pointer) or '""' for c in shown)
            if len(decision.conflicts) > len(shown):
                listed += f" and {len(decision.conflicts) - len(shown)} more (see conflicts)"
            return MergeConflict(
                f"since the version your patch was made from, {listed} changed here too",
                conflicts=[c.to_json() for c in decision.conflicts],
                current_etag=current_etag(decision.current) or "",
            )
        case _:
            return Contended("every attempt lost a race with another writer; retry")


def decision_error(
    decision: Decision, current: Validators | None, conditions: Conditions | None = None
) -> ProblemError | None:
    """The error for an `evaluate` decision that stops a write (412 or 428), else None."""
    if decision is Decision.PRECONDITION_FAILED:
        return precondition_failed(current, conditions)
    if decision is Decision.PRECONDITION_REQUIRED:
        return precondition_required(conditions)
    return None
