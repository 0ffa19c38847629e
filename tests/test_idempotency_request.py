"""A keyed request's reply to Execute (`_idempotency_request`): a commit no record covers."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pytest

from httpconflict._idempotency import Wrote
from httpconflict._idempotency_policy import IdempotencyPolicy
from httpconflict._idempotency_request import KeyedRequest


@dataclass(frozen=True, slots=True)
class _Answered:
    status_code: int = 201
    body: bytes = b"{}"
    error: Exception | None = None

    def text_headers(self) -> list[tuple[str, str]]:
        return [("content-type", "application/json")]


@pytest.mark.parametrize(
    ("transactional", "made", "unrecorded"),
    [
        pytest.param(True, False, True, id="transactional-never-recorded"),
        pytest.param(True, True, False, id="transactional-recorded-commit-outcome-lost"),
        pytest.param(False, False, False, id="generic-the-middleware-records"),
    ],
)
def test_a_commit_no_record_covers_is_told_apart_and_logged(
    caplog: pytest.LogCaptureFixture, transactional: bool, made: bool, unrecorded: bool
) -> None:
    """A write committed, no answer ever made for the key: unrecorded, a WARNING names the route."""
    policy = IdempotencyPolicy(transactional=transactional)
    scope = {"type": "http", "headers": []}
    claim = KeyedRequest.begin(policy, scope, "POST", "/orders?x=1", "k", b"{}", now=0.0)
    if made:
        claim.completion(201, [], b"{}")
    claim.applied = True
    with caplog.at_level(logging.WARNING, logger="httpconflict.idempotency"):
        reply = claim.executed(_Answered())
    assert isinstance(reply, Wrote)
    assert reply.unrecorded is unrecorded
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert bool(lines) is unrecorded
    assert all(
        line.startswith("POST /orders committed") and "record_answer" in line for line in lines
    )


def test_a_raise_after_the_app_s_own_record_is_a_write_to_answer_from_the_record() -> None:
    """Transactional: the app recorded its answer with its write, then raised. The flow is told
    a write happened (so it answers from the record, as every retry is), not a bare error (which
    went on to the server: uvicorn's text 500, the connection reset)."""
    policy = IdempotencyPolicy(transactional=True)
    scope = {"type": "http", "headers": []}
    claim = KeyedRequest.begin(policy, scope, "POST", "/orders", "k", b"{}", now=0.0)
    claim.completion(201, [], b"{}")
    claim.completed = True
    error = RuntimeError("after the commit")
    reply = claim.executed(_Answered(error=error))
    assert isinstance(reply, Wrote)
    assert reply.outcome is error
    assert reply.incident is not None
