"""read_decision: the one place a conditional GET or HEAD is decided.

The RFC 9110 §13.2.2 table run through every adapter is
tests/adapters/test_conditional_table.py; this module pins what the core
decides from each kind of input (header lines or parsed Conditions, header
fields or Validators) and the rules no adapter sees on its own.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from httpconflict import (
    Conditions,
    ETag,
    MalformedHeader,
    PreconditionFailed,
    ReadOutcome,
    Validators,
    read_decision,
)
from httpconflict._conditional_read import not_modified_fields, validators_of

NOON = "Thu, 01 Jan 2026 12:00:00 GMT"
CURRENT = Validators(ETag("v2"), datetime(2026, 1, 1, 12, tzinfo=UTC))
PROCEED, NOT_MODIFIED, FAILED = (
    ReadOutcome.PROCEED,
    ReadOutcome.NOT_MODIFIED,
    ReadOutcome.PRECONDITION_FAILED,
)
FIELDS = [
    ("Content-Type", "application/json"),
    ("ETag", '"v2"'),
    ("Last-Modified", NOON),
    ("Cache-Control", "no-cache"),
    ("Set-Cookie", "a=b"),
]


@pytest.mark.parametrize(
    ("names", "kept"),
    [
        pytest.param(
            ["ETag", "Last-Modified", "Content-Type", "Vary"],
            {"ETag", "Vary"},
            id="rfc9110-15.4.5-etag-without-last-modified",
        ),
        pytest.param(
            ["Last-Modified", "Cache-Control", "Set-Cookie"],
            {"Last-Modified", "Cache-Control"},
            id="rfc9110-15.4.5-last-modified-without-etag",
        ),
        pytest.param(
            ["Date", "Expires", "Content-Location", "Content-Length"],
            {"Date", "Expires", "Content-Location"},
            id="rfc9110-15.4.5-listed-fields",
        ),
    ],
)
def test_a_304_repeats_only_the_fields_rfc_9110_lists(names: list[str], kept: set[str]) -> None:
    """§15.4.5: Last-Modified only without an ETag; never the body's own metadata."""
    assert {name for name, _ in not_modified_fields([(n, "x") for n in names])} == kept


def test_a_304_from_validators_alone_repeats_them() -> None:
    """Known before the answer is built: the validators, and the Cache-Control its 200 says."""
    assert not_modified_fields(CURRENT) == (("ETag", '"v2"'), ("Cache-Control", "no-cache"))
    dated = Validators(last_modified=CURRENT.last_modified)
    assert not_modified_fields(dated, cache_control=None) == (("Last-Modified", NOON),)
    assert not_modified_fields(dated, cache_control="private") == (
        ("Last-Modified", NOON),
        ("Cache-Control", "private"),
    )
    assert not_modified_fields(Validators()) == ()


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        pytest.param(FIELDS, CURRENT, id="both"),
        pytest.param(
            [("etag", "v2"), ("last-modified", NOON)],
            Validators(None, CURRENT.last_modified),
            id="malformed-etag-ignored",
        ),
        pytest.param(
            [("ETag", '"v2"'), ("Last-Modified", "noon")],
            Validators(ETag("v2")),
            id="malformed-date-ignored",
        ),
        pytest.param([("ETag", '"v1"'), ("ETag", '"v2"')], Validators(), id="two-etags-are-none"),
        pytest.param([], Validators(), id="none"),
    ],
)
def test_validators_of_an_answer(fields: list[tuple[str, str]], expected: Validators) -> None:
    """The app's own malformed or repeated validator validates nothing."""
    assert validators_of(fields) == expected


def test_an_etag_alone_is_read_when_no_date_is_asked_about() -> None:
    """A revalidation by ETag reads no Last-Modified; one by date still does."""
    fields = [("ETag", '"v2"'), ("Last-Modified", NOON)]
    assert validators_of(fields, dates=False) == Validators(ETag("v2"))
    by_date = read_decision("GET", {"if-modified-since": NOON}, fields)
    assert by_date.outcome is ReadOutcome.NOT_MODIFIED
    stale = read_decision("GET", {"if-unmodified-since": "Sun, 06 Nov 1994 08:49:37 GMT"}, fields)
    assert stale.outcome is ReadOutcome.PRECONDITION_FAILED
    assert read_decision("GET", {"if-none-match": '"v2"'}, fields).outcome is (
        ReadOutcome.NOT_MODIFIED
    )


def test_the_same_decision_from_every_kind_of_input() -> None:
    """Header lines or Conditions, header fields or Validators: one decision."""
    lines = {"if-none-match": 'W/"v2"'}
    parsed = Conditions.from_headers(lines)
    for conditions in (lines, parsed, lambda name: [lines[name]] if name in lines else []):
        for answer in (FIELDS, CURRENT):
            decided = read_decision("GET", conditions, answer)
            assert decided.outcome is ReadOutcome.NOT_MODIFIED
            assert decided.status == 304
            assert ("ETag", '"v2"') in decided.fields


def test_a_304_from_header_fields_keeps_cache_control() -> None:
    """The 304 repeats Cache-Control from the answer, and drops Set-Cookie and Last-Modified."""
    decided = read_decision("HEAD", {"if-none-match": '"v2"'}, FIELDS)
    assert decided.fields == (("ETag", '"v2"'), ("Cache-Control", "no-cache"))


def test_keep_chooses_the_fields() -> None:
    """`keep` names what a 304 repeats; Last-Modified still follows the ETag rule."""
    decided = read_decision("GET", {"if-none-match": "*"}, FIELDS, keep={"set-cookie"})
    assert decided.fields == (("Set-Cookie", "a=b"),)


@pytest.mark.parametrize("method", ["PUT", "POST", "DELETE", "PATCH", "OPTIONS"])
def test_only_get_and_head_are_decided_here(method: str) -> None:
    """A write is checked by its own statement: here it always proceeds."""
    decided = read_decision(method, {"if-match": '"v1"', "if-none-match": "v2"}, FIELDS)
    assert decided.outcome is ReadOutcome.PROCEED


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        pytest.param(200, ReadOutcome.PRECONDITION_FAILED, id="rfc9110-13.2.1-200"),
        pytest.param(203, ReadOutcome.PRECONDITION_FAILED, id="rfc9110-13.2.1-any-2xx"),
        pytest.param(206, ReadOutcome.PRECONDITION_FAILED, id="rfc9110-13.2.1-206"),
        pytest.param(301, ReadOutcome.PROCEED, id="rfc9110-13.2.1-redirect-ignores"),
        pytest.param(404, ReadOutcome.PROCEED, id="rfc9110-13.2.1-404-ignores"),
        pytest.param(412, ReadOutcome.PROCEED, id="rfc9110-13.2.1-own-412-stays"),
        pytest.param(500, ReadOutcome.PROCEED, id="rfc9110-13.2.1-500-ignores"),
    ],
)
def test_preconditions_apply_to_a_2xx_only(status: int, outcome: ReadOutcome) -> None:
    """§13.2.1: preconditions are ignored when the answer without them is not a 2xx."""
    decided = read_decision("GET", {"if-match": '"v1"'}, FIELDS, status=status)
    assert decided.outcome is outcome


def test_a_resource_without_a_representation_ignores_even_malformed_fields() -> None:
    """None (the caller's 404): nothing is parsed, so nothing is a 400."""
    assert read_decision("GET", {"if-none-match": "v2"}, None).outcome is ReadOutcome.PROCEED
    error = MalformedHeader("unquoted", value="v2", header="If-None-Match")
    assert read_decision("GET", error, None).outcome is ReadOutcome.PROCEED
    assert read_decision("GET", error, FIELDS, status=404).outcome is ReadOutcome.PROCEED


def test_a_malformed_field_is_a_400_naming_it() -> None:
    """Parsed here or before: the decision carries the MalformedHeader."""
    decided = read_decision("GET", {"if-none-match": "v2"}, FIELDS)
    assert decided.outcome is ReadOutcome.MALFORMED_HEADER
    assert decided.status == 400
    assert isinstance(decided.error, MalformedHeader)
    assert decided.error.header == "If-None-Match"
    error = MalformedHeader("unquoted", value="v2", header="If-Match")
    assert read_decision("GET", error, CURRENT).error is error


def test_lenient_dates_ignores_a_malformed_date() -> None:
    """RFC 9110 §13.1.3's letter on request: the date is ignored, the answer goes out."""
    lines = {"if-modified-since": "yesterday"}
    assert read_decision("GET", lines, FIELDS).outcome is ReadOutcome.MALFORMED_HEADER
    assert read_decision("GET", lines, FIELDS, lenient_dates=True).outcome is ReadOutcome.PROCEED


@pytest.mark.parametrize(
    ("lines", "outcome"),
    [
        pytest.param({"if-match": '"x"'}, FAILED, id="rfc9110-13.1.1-no-etag-never-matches"),
        pytest.param({"if-match": "*"}, PROCEED, id="rfc9110-13.1.1-star-exists"),
        pytest.param({"if-none-match": "*"}, NOT_MODIFIED, id="rfc9110-13.1.2-star-exists-304"),
        pytest.param({"if-none-match": '"x"'}, PROCEED, id="rfc9110-13.1.2-no-etag-no-match"),
        pytest.param({"if-modified-since": NOON}, PROCEED, id="rfc9110-13.1.3-no-date-ignored"),
        pytest.param({"if-unmodified-since": NOON}, PROCEED, id="rfc9110-13.1.4-no-date-ignored"),
    ],
)
def test_an_answer_without_validators_is_still_a_representation(
    lines: dict[str, str], outcome: ReadOutcome
) -> None:
    """A 200 with no ETag and no Last-Modified: "*" matches it, no tag does."""
    for answer in ([("Content-Type", "text/plain")], Validators()):
        assert read_decision("GET", lines, answer).outcome is outcome


def test_the_412_names_the_current_etag() -> None:
    """A failed If-Match carries the PreconditionFailed problem with current_etag."""
    decided = read_decision("GET", {"if-match": '"v1"'}, FIELDS)
    assert isinstance(decided.error, PreconditionFailed)
    assert decided.error.problem.extensions["current_etag"] == '"v2"'
    no_tag = read_decision("GET", {"if-match": '"v1"'}, Validators())
    assert no_tag.error is not None
    assert no_tag.error.problem.extensions["current_etag"] is None
    assert "no entity-tag" in (no_tag.error.problem.detail or "")
