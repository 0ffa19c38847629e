"""The checks' weights and the score."""

from __future__ import annotations

from httpconflict.tools.audit.catalog import CHECKS, score
from httpconflict.tools.audit.verdict import CheckResult, Verdict


def results(*verdicts: Verdict) -> list[CheckResult]:
    return [CheckResult(c.id, v, ()) for c, v in zip(CHECKS, verdicts, strict=False)]


def test_the_weights_add_up_to_100() -> None:
    """Nine checks, unique ids, weights summing to 100, documented in the epilog too."""
    from httpconflict.tools.audit.command import EPILOG

    assert len({c.id for c in CHECKS}) == len(CHECKS) == 9
    assert sum(c.weight for c in CHECKS) == 100
    flat = " ".join(EPILOG.split())
    for check in CHECKS:
        assert f"{check.id} {check.weight}" in flat


def test_all_pass_is_100_all_fail_is_0() -> None:
    """The two ends of the scale."""
    assert score(results(*[Verdict.PASS] * 9)) == 100
    assert score(results(*[Verdict.FAIL] * 9)) == 0


def test_a_warning_earns_half_and_skips_do_not_count() -> None:
    """ETag warn (2.5 of 5) + 304 pass (5 of 5), all else skipped: 7.5 of 10 = 75."""
    verdicts = [Verdict.WARN, Verdict.PASS] + [Verdict.SKIPPED] * 7
    assert score(results(*verdicts)) == 75


def test_nothing_ran_means_no_score() -> None:
    """With every check skipped there is no score, not a perfect one."""
    assert score(results(*[Verdict.SKIPPED] * 9)) is None
