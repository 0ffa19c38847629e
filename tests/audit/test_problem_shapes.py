"""Judging error answers against RFC 9457."""

from __future__ import annotations

import pytest

from httpconflict.tools.audit.exchange import Exchange
from httpconflict.tools.audit.problems import Shape, classify, summarize

PROBLEM = "application/problem+json"


def answer(status: int, media_type: str | None, body: bytes) -> Exchange:
    headers = (("content-type", media_type),) if media_type else ()
    return Exchange("test", "GET", "http://127.0.0.1/v1/notes/1", status, headers, body)


@pytest.mark.parametrize(
    ("status", "media_type", "body", "shape"),
    [
        pytest.param(
            412,
            PROBLEM,
            b'{"type":"https://e.x/stale","title":"Stale","status":412}',
            Shape.PROBLEM,
            id="rfc9457-3-complete-problem",
        ),
        pytest.param(
            404,
            "application/problem+json; charset=utf-8",
            b'{"title":"Not Found"}',
            Shape.PROBLEM,
            id="rfc9457-3-members-are-optional",
        ),
        pytest.param(
            409,
            PROBLEM,
            b'{"type":"about:blank","status":400}',
            Shape.MALFORMED,
            id="rfc9457-3.1.2-status-must-match-the-response",
        ),
        pytest.param(
            409, PROBLEM, b'{"title":7}', Shape.MALFORMED, id="rfc9457-3.1-title-is-a-string"
        ),
        pytest.param(500, PROBLEM, b"oops", Shape.MALFORMED, id="rfc9457-3-a-json-object"),
        pytest.param(
            412,
            "application/json",
            b'{"type":"https://e.x/stale","title":"Stale","status":412}',
            Shape.UNLABELLED,
            id="rfc9457-3-problem-sent-as-application-json",
        ),
        pytest.param(404, "application/json", b"{}", Shape.OTHER, id="json-server-empty-object"),
        pytest.param(500, "text/plain", b"Internal Server Error", Shape.OTHER, id="plain-text-500"),
        pytest.param(400, None, b"", Shape.OTHER, id="no-body"),
    ],
)
def test_classify(status: int, media_type: str | None, body: bytes, shape: Shape) -> None:
    """Each answer gets the shape RFC 9457 gives it."""
    assert classify(answer(status, media_type, body)) is shape


def test_summary_groups_by_media_type_and_names_statuses() -> None:
    """One evidence line per media type and shape, statuses counted, a preview of the bad."""
    good = b'{"title":"Stale","status":412}'
    shapes, lines = summarize(
        [
            answer(412, PROBLEM, good),
            answer(412, PROBLEM, good),
            answer(404, "application/json", b"{}"),
        ]
    )
    assert shapes == {Shape.PROBLEM: 2, Shape.OTHER: 1}
    assert lines == [
        "application/json: 404; not a problem, e.g. 404 {}",
        "application/problem+json: 412 x2",
    ]
