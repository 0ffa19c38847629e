"""The 500 for an error no handler answered: what the client is told, and the log line.

One rule for every adapter's last-resort handler (Starlette's and FastAPI's
``install``, Flask's, Django's ``handler500`` and `ProblemMiddleware`): a
500 says nothing of the error, only an incident whose line in the
``httpconflict`` log has it, unless a transaction of the request
committed a write before it failed (`_request_writes`). Then
part of the request was applied, and an answer that hides it invites a
resend that applies it twice: the 500 says so, naming an incident whose
log line holds the error. So does the 500 of a keyed request whose policy
records every server error (`store_server_errors`): its Idempotency-Key
replays that answer, and part of the request may have been applied where
no hook looks.
"""

from __future__ import annotations

import logging

from ._idempotency import failed_after_writing_problem
from ._incidents import describe, log, log_incident, new_incident, one_line
from ._problem import INTERNAL_ERROR, ProblemDetails
from ._request_writes import current_writes

__all__ = ["log_after_answer", "server_error_problem"]

_RELEASED = "its Idempotency-Key is released, and the request sent again with it runs again"


def server_error_problem(
    method: str,
    path: str,
    error: BaseException | None,
    *,
    committed: bool,
    released: bool = False,
) -> ProblemDetails:
    """The 500 problem for `error`, raised by a request to `path` (without its query).

    `committed`: the request committed a write first. `released`: an
    idempotency middleware released the request's Idempotency-Key (it
    committed nothing), so that the same key sent again runs it again.
    `error` None: the framework logged the error and kept it (Django's
    default ``handler500`` page, replaced after the fact); the incident's
    line points there.
    """
    writes = current_writes()
    recorded = writes is not None and writes.records_failures
    incident = new_incident()
    if not (committed or recorded):
        # An incident all the same: the answer and one line of our log name
        # each other, whether or not the framework logs the error (Django
        # without LOGGING mails it to the admins, and prints nothing).
        if released:
            _log(incident, f"500 {method} {path} raised; {_RELEASED}", error)
            return INTERNAL_ERROR.problem(
                f"the server failed; {_RELEASED}; its log names this incident",
                incident=incident,
            )
        _log(incident, f"500 {method} {path} raised", error)
        return INTERNAL_ERROR.problem(
            "the server failed; its log names this incident", incident=incident
        )
    summary = (
        f"500 {method} {path} raised after committing a write"
        if committed
        else f"500 {method} {path} raised: its Idempotency-Key records the failure (the "
        "policy records server errors: part of it may have been applied)"
    )
    _log(incident, summary, error)
    return failed_after_writing_problem(incident, seen=committed)


def _log(incident: str, summary: str, error: BaseException | None) -> None:
    if error is None:
        log.error(
            "incident %s: %s (the framework's log has its traceback)", incident, one_line(summary)
        )
    else:
        log_incident(incident, summary, error, level=logging.ERROR)


def log_after_answer(method: str, path: str, status: int, error: BaseException) -> None:
    """Log `error`, raised once the request's answer (`status`) began to go out.

    The last-resort handler is called all the same (Starlette's), but no 500
    can be sent any more: the answer stands (a background task failed after
    it), or its client sees it cut short. A line saying "500" under an
    incident no client is given would send whoever reads it looking for one.
    """
    log.error(
        "%s raised after its %d answer began (no 500 was sent): %s",
        one_line(f"{method} {path}"),
        status,
        describe(error),
    )
