"""Generated logs in every format: the tool's counts match the generator's, exactly.

See `generate` for the scenario: two hours, 5-minute buckets, a steady
background and one spike of 409s at 11:10 from one client on one route.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from tests.logs.generate import (
    BUCKET,
    BUCKETS,
    FORMATS,
    SPIKE_BUCKET,
    SPIKE_CLIENT,
    SPIKE_EXTRA,
    SPIKE_ROUTE,
    START,
    LogFormat,
    Request,
    conflicts,
    expected,
    scenario,
)
from tests.logs.running import causes, logs_json, rows, timeline, write_log

REQUESTS = scenario()
#: The zone each log is written in, as the report names it.
ZONES = {60: "+01:00", -300: "-05:00", 0: "UTC", None: None}


@pytest.fixture(params=FORMATS, ids=lambda f: f.name)
def log_format(request: pytest.FixtureRequest) -> LogFormat:
    fmt: LogFormat = request.param
    return fmt


def test_the_scenario_is_what_the_tests_assume() -> None:
    """The generator's own numbers: a spike well above a background that never spikes."""
    spike_bucket = [r for r in conflicts(REQUESTS) if r.bucket == "2026-11-24T11:10:00Z"]
    assert sum(r.status == 409 for r in spike_bucket) == SPIKE_EXTRA + 14 % 3
    assert len({r.bucket for r in REQUESTS}) == BUCKETS
    assert len(conflicts(REQUESTS)) == 24 + 60 + 6 + SPIKE_EXTRA


def test_every_line_is_recognised_in_its_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], log_format: LogFormat
) -> None:
    """Each request line is read, in the format it was written in; the server's chatter is not."""
    path = write_log(tmp_path / "access.log", log_format.lines(REQUESTS))
    report = logs_json(capsys, str(path))
    assert report["formats"] == {log_format.detected: len(REQUESTS)}
    assert report["lines"] == {
        "total": len(REQUESTS) + len(log_format.noise),
        "requests": len(REQUESTS),
        "blank": 0,
        "unrecognised": len(log_format.noise),
    }
    assert report["conflicts"] == {
        "409": sum(r.status == 409 for r in REQUESTS),
        "412": sum(r.status == 412 for r in REQUESTS),
        "428": sum(r.status == 428 for r in REQUESTS),
        "total": len(conflicts(REQUESTS)),
    }


def test_routes_methods_and_clients_match(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], log_format: LogFormat
) -> None:
    """Conflicts by route template, method and client are the generator's, exactly."""
    path = write_log(tmp_path / "access.log", log_format.lines(REQUESTS))
    report = logs_json(capsys, str(path))
    assert rows(report, "routes", "route") == expected(REQUESTS, lambda r: r.route)
    assert rows(report, "methods", "method") == expected(REQUESTS, lambda r: r.method)
    clients = rows(report, "clients", "client")
    if log_format.clients:
        assert clients == expected(REQUESTS, lambda r: r.client)
        assert report["clients"][0]["client"] == SPIKE_CLIENT  # the most conflicts
    else:  # our text access log does not record the client
        assert clients == expected(REQUESTS, lambda r: "-")
    totals = [row["total"] for row in report["routes"]]
    assert totals == sorted(totals, reverse=True)  # most conflicts first


def test_buckets_and_the_spike_match(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], log_format: LogFormat
) -> None:
    """The default bucket is 5 minutes over the two hours; its counts and the one spike match."""
    path = write_log(tmp_path / "access.log", log_format.lines(REQUESTS))
    report = logs_json(capsys, str(path))
    if not log_format.times:
        assert report["untimed"] == len(conflicts(REQUESTS))
        assert report["timeline"] == []
        assert report["spikes"] == []
        return
    assert report["untimed"] == 0
    assert report["zone"] == ZONES[log_format.offset]
    iso = log_format.iso
    assert report["span"] == {"first": iso(START), "last": iso(START + timedelta(seconds=7199))}
    assert report["bucket"] == {"seconds": BUCKET, "label": "5m"}
    assert report["buckets"] == BUCKETS
    assert timeline(report) == expected(REQUESTS, lambda r: iso(r.bucket_start))
    spike_start = START + timedelta(seconds=SPIKE_BUCKET * BUCKET)
    in_spike = [r for r in conflicts(REQUESTS) if r.bucket_start == spike_start and r.status == 409]
    (spike,) = report["spikes"]
    assert (spike["start"], spike["status"], spike["count"]) == (iso(spike_start), 409, 27)
    assert spike["baseline"] == 1.0
    assert len(in_spike) == 27
    top_route = Counter(r.route for r in in_spike).most_common(1)[0]
    assert spike["routes"][0] == {"route": SPIKE_ROUTE, "count": top_route[1]}
    client = SPIKE_CLIENT if log_format.clients else "-"
    top_client = Counter(r.client if log_format.clients else "-" for r in in_spike).most_common(1)
    assert spike["clients"][0] == {"client": client, "count": top_client[0][1]}
    assert spike["approximate"] is False


def test_causes_match_where_the_log_names_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], log_format: LogFormat
) -> None:
    """Logged problem types are the causes, with the route each comes from most."""
    path = write_log(tmp_path / "access.log", log_format.lines(REQUESTS))
    report = logs_json(capsys, str(path))
    if not log_format.problems:
        assert report["causes"] == []
        assert report["uncaused"] == len(conflicts(REQUESTS))
        return
    assert causes(report) == expected(REQUESTS, lambda r: r.problem)
    assert report["uncaused"] == 0
    in_flight = next(c for c in report["causes"] if c["problem"] == "idempotency-key-in-flight")
    assert in_flight["top_route"] == SPIKE_ROUTE
    assert in_flight["top_route_count"] == in_flight["count"]


def _by_bucket(requests: list[Request], length: int) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in conflicts(requests):
        start = r.time_ms // 1000 // length * length
        stamp = r.when.fromtimestamp(start, r.when.tzinfo).isoformat().replace("+00:00", "Z")
        counts[stamp] = counts.get(stamp, 0) + 1
    return counts


@pytest.mark.parametrize("bucket", ["1m", "15m", "1h"])
def test_bucket_option(tmp_path: Path, capsys: pytest.CaptureFixture[str], bucket: str) -> None:
    """--bucket sets the bucket; the totals per bucket follow it."""
    fmt = next(f for f in FORMATS if f.name == "service-json")
    path = write_log(tmp_path / "access.log", fmt.lines(REQUESTS))
    report = logs_json(capsys, str(path), "--bucket", bucket)
    length = {"1m": 60, "15m": 900, "1h": 3600}[bucket]
    assert report["bucket"] == {"seconds": length, "label": bucket}
    assert report["buckets"] == 7200 // length
    assert {b["start"]: b["total"] for b in report["timeline"]} == _by_bucket(REQUESTS, length)
