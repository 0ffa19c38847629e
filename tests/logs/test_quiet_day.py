"""A quiet day's nginx log, written in +02:00: times shown in that zone everywhere, 1-minute
buckets that flag only the real burst, and a spike that names its route and its client.

The day (see `realistic.quiet_day`): 07:00 to 17:00 local, a 412 alone in
250 of its 600 minutes (the median minute has none), five 412s from five
clients in the minute of 10:00 by chance, and fifteen from one client on
one route at 14:05: the burst.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta, timezone
from pathlib import Path
from xml.etree import ElementTree

import pytest

from httpconflict.tools.logs.spikes import median
from tests.logs.realistic import (
    BURST,
    BURST_CLIENT,
    BURST_MINUTE,
    BURST_ROUTE,
    CHANCE_MINUTE,
    DAY,
    MINUTES,
    lines,
    quiet_day,
)
from tests.logs.running import logs, logs_json, write_log

HITS = quiet_day()
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def log(tmp_path: Path) -> Path:
    return write_log(tmp_path / "access.log", lines(HITS))


def _minutes() -> Counter[int]:
    """The 412s per minute of the day, from the generator."""
    return Counter(int((hit.when - DAY).total_seconds() // 60) for hit in HITS if hit.status == 412)


def test_the_day_is_what_the_tests_assume() -> None:
    """Mostly empty minutes, so a median of 0; the old rule (count >= 5 and count > 3 x
    max(median, 1)) called the minute of chance a spike too."""
    per_minute = _minutes()
    assert median(list(per_minute.values()), MINUTES) == 0
    assert per_minute[BURST_MINUTE] == BURST
    assert per_minute[CHANCE_MINUTE] == 5
    old_rule = [m for m, n in per_minute.items() if n >= 5 and n > 3 * max(0, 1)]
    assert sorted(old_rule) == [CHANCE_MINUTE, BURST_MINUTE]


def test_one_minute_buckets_flag_only_the_burst(
    log: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With --bucket 1m, the burst is the one spike; the five of 10:00 are chance."""
    report = logs_json(capsys, str(log), "--bucket", "1m")
    assert report["buckets"] == MINUTES
    (spike,) = report["spikes"]
    assert (spike["start"], spike["status"], spike["count"]) == (
        "2026-11-24T14:05:00+02:00",
        412,
        BURST,
    )
    # The baseline is the day's rate of 412s, not the median minute's 0.
    assert spike["baseline"] == pytest.approx((250 + 5) / (MINUTES - 1), abs=1e-6)
    assert spike["expected"] < 0.01


def test_the_spike_names_its_route_and_client(
    log: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The burst's top route (ids collapsed) and client, with their counts."""
    (spike,) = logs_json(capsys, str(log), "--bucket", "1m")["spikes"]
    assert spike["routes"] == [{"route": BURST_ROUTE, "count": BURST}]
    assert spike["clients"] == [{"client": BURST_CLIENT, "count": BURST}]
    assert spike["approximate"] is False


def test_json_times_carry_the_logs_offset(log: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The span and the buckets are on the log's clock, 07:00 to 17:00, with +02:00."""
    report = logs_json(capsys, str(log))
    assert report["zone"] == "+02:00"
    assert report["other_zones"] == {}
    first = min(hit.when for hit in HITS).astimezone(timezone(timedelta(hours=2)))
    assert report["span"]["first"] == first.isoformat()
    assert report["span"]["first"].startswith("2026-11-24T07:")
    # Default buckets of 15 minutes start on the quarter hour of the local clock.
    assert report["bucket"]["seconds"] == 900
    assert all(
        b["start"].endswith(("00:00+02:00", "15:00+02:00", "30:00+02:00", "45:00+02:00"))
        for b in report["timeline"]
    )


def test_the_terminal_shows_local_times(
    log: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The span, the zone named, the spike at 14:05 with its route and client."""
    monkeypatch.setenv("COLUMNS", "200")  # no cell folded
    capsys.readouterr()
    assert logs(str(log), "--bucket", "1m") == 0
    out = capsys.readouterr().out
    assert "(times in +02:00, the log's zone)" in out
    assert "from 2026-11-24 07:0" in out
    assert "start (+02:00)" in out
    assert "2026-11-24 14:05" in out
    assert BURST_CLIENT in out
    assert f"{BURST_ROUTE} ({BURST})" in out


def test_the_page_and_the_chart_show_local_times(
    log: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--html and --svg: the spike at 14:05, ticks on the local clock, the zone written."""
    html, svg = tmp_path / "report.html", tmp_path / "chart.svg"
    assert logs(str(log), "--bucket", "1m", "--html", str(html), "--svg", str(svg)) == 0
    page = html.read_text()
    assert "<td>2026-11-24 14:05</td>" in page
    assert "times in +02:00, the log&#x27;s zone" in page
    assert "bucket start (+02:00)" in page
    assert f"<td>{BURST_ROUTE} ({BURST})</td>" in page
    root = ElementTree.parse(svg).getroot()  # noqa: S314  # the chart this test made
    labels = [t.text for t in root.iter(f"{SVG}text")]
    assert "2026-11-24 (times in +02:00, the log's zone)" in labels
    assert "07:00" in labels  # the first tick: the day's start on the local clock
    assert "spike 412: 15" in labels


@pytest.mark.parametrize(
    ("zone", "offset", "start"),
    [
        pytest.param("+0530", 330, "2026-11-24T10:00:00+05:30", id="half-hour-east"),
        pytest.param("-0800", -480, "2026-11-23T21:00:00-08:00", id="west"),
        pytest.param("+0000", 0, "2026-11-24T05:00:00Z", id="utc"),
    ],
)
def test_hour_buckets_start_on_the_local_hour(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], zone: str, offset: int, start: str
) -> None:
    """--bucket 1h in a +05:30 log: buckets start at :00 local, not at the UTC hour."""
    hits = [hit for hit in HITS if hit.when < DAY + timedelta(hours=2)]
    path = write_log(tmp_path / "access.log", lines(hits, offset))
    report = logs_json(capsys, str(path), "--bucket", "1h")
    assert report["zone"] == ("UTC" if offset == 0 else zone[:3] + ":" + zone[3:])
    assert report["timeline"][0]["start"] == start
    assert sum(b["total"] for b in report["timeline"]) == sum(h.status == 412 for h in hits)
