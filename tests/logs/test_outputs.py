"""What the tool writes: terminal tables, --svg (a chart), --html (a page with the chart)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from xml.etree import ElementTree

import pytest

from httpconflict.tools.logs.chart import COLOURS, HEIGHT, WIDTH
from tests.logs.generate import (
    SPIKE_CLIENT,
    SPIKE_ROUTE,
    conflicts,
    scenario,
    service_json,
    uvicorn_without_time,
)
from tests.logs.running import logs, write_log

REQUESTS = scenario()
SVG = "{http://www.w3.org/2000/svg}"


def read_svg(path: Path) -> ElementTree.Element:
    """The chart, parsed as XML (so it is well-formed), checked to be of the chart's size."""
    root = ElementTree.parse(path).getroot()  # noqa: S314  # the chart this test made
    assert root.tag == f"{SVG}svg"
    assert (root.get("width"), root.get("height")) == (str(WIDTH), str(HEIGHT))
    return root


@pytest.fixture
def service_log(tmp_path: Path) -> Path:
    return write_log(tmp_path / "access.log", [service_json(r) for r in REQUESTS])


def test_terminal_tables(service_log: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The terminal report shows each table, the spike and the top rows."""
    assert logs(str(service_log), "--top", "3") == 0
    out = capsys.readouterr().out
    for title in ("Routes", "Methods", "Clients", "Causes (logged problem types)", "Spikes"):
        assert title in out
    assert f"conflicts: {len(conflicts(REQUESTS))} (" in out
    assert "24 buckets of 5m" in out
    assert "from 2026-11-24 10:00:00 to 2026-11-24 11:59:59 (times in UTC, the log's zone)" in out
    assert "2026-11-24 11:10" in out  # the spike's bucket
    assert SPIKE_CLIENT in out
    assert "idempotency-key-in-flight" in out
    routes = Counter(r.route for r in conflicts(REQUESTS)).most_common()
    assert f"top 3 of {len(routes)}" in out
    table = out.split("Routes")[1].split("Methods")[0]
    assert [route for route, _ in routes[:3] if route in table] == [r for r, _ in routes[:3]]
    assert routes[3][0] not in table


def test_json_is_the_whole_report(service_log: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--json prints one JSON document with every table in full (--top is for the terminal)."""
    assert logs(str(service_log), "--json", "--top", "1") == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report) >= {
        *("sources", "lines", "formats", "conflicts", "span", "bucket", "timeline"),
        *("routes", "methods", "clients", "causes", "spikes", "spike_rule", "unreadable"),
    }
    assert len(report["routes"]) == len({r.route for r in conflicts(REQUESTS)}) > 1
    assert report["spike_rule"] == (
        "count >= 5, count > 3 x baseline, and fewer than 0.01 buckets that high expected "
        "by chance in the log"
    )


def test_svg_chart(service_log: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--svg writes an SVG: a step line per status over every bucket, the spike circled."""
    svg = tmp_path / "chart.svg"
    assert logs(str(service_log), "--svg", str(svg)) == 0
    root = read_svg(svg)
    lines = {p.get("class"): p for p in root.iter(f"{SVG}polyline")}
    assert set(lines) == {f"status-{s}" for s in COLOURS}
    for status, colour in COLOURS.items():
        line = lines[f"status-{status}"]
        assert line.get("stroke") == colour
        # A step (two points) per bucket: 24 buckets of 5 minutes.
        assert len(line.get("points", "").split()) == 2 * 24
    spikes = [c for c in root.iter(f"{SVG}circle") if c.get("class") == "spike"]
    assert len(spikes) == 1
    labels = [t.text for t in root.iter(f"{SVG}text")]
    assert "spike 409: 27" in labels
    assert {"10:00", "11:00", "12:00"} <= set(labels)  # the span's times
    assert "2026-11-24 (times in UTC, the log's zone)" in labels


def test_svg_without_times(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A log without times still gets a chart (saying so) and no error."""
    path = write_log(tmp_path / "uvicorn.log", [uvicorn_without_time(r) for r in REQUESTS])
    svg = tmp_path / "chart.svg"
    assert logs(str(path), "--svg", str(svg)) == 0
    root = read_svg(svg)
    assert "no timed requests in the log" in [t.text for t in root.iter(f"{SVG}text")]


def test_svg_of_one_bucket(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A log within one second (one bucket) charts as one step per status."""
    path = write_log(tmp_path / "one.log", [service_json(r) for r in REQUESTS[:1]])
    assert logs(str(path), "--svg", str(tmp_path / "one.svg")) == 0
    lines = list(read_svg(tmp_path / "one.svg").iter(f"{SVG}polyline"))
    assert [len(line.get("points", "").split()) for line in lines] == [2, 2, 2]


def test_png_says_what_replaced_it(service_log: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--png (gone with matplotlib) is a usage error naming --svg and --html, nothing written."""
    with pytest.raises(SystemExit) as exit_info:
        logs(str(service_log), "--png", "chart.png")
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "--svg FILE" in err
    assert "--html FILE" in err


def test_html_page(service_log: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--html writes one self-contained page: the chart inline as SVG, and the tables."""
    html = tmp_path / "report.html"
    assert logs(str(service_log), "--html", str(html), "--json") == 0
    page = html.read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert page.count("<svg") == 1
    assert "</svg>" in page
    assert "<?xml" not in page  # the SVG document's header is left out of the page
    for caption in ("Routes", "Methods", "Clients", "Causes", "Spikes"):
        assert f"<caption>{caption}" in page
    assert "<td>/v1/orders</td>" in page
    assert "<td>idempotency-key-in-flight</td>" in page
    assert "<td>2026-11-24 11:10</td>" in page
    assert f"<td>{SPIKE_ROUTE} (" in page  # the spike's top route
    assert f"<td>{SPIKE_CLIENT} (25)" in page  # and client
    for outside in ("<script", 'src="', 'href="http', "url(http", "@import"):
        assert outside not in page  # nothing is fetched from anywhere


def test_html_escapes_the_log(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Routes and clients are whatever clients sent: the page shows them, never runs them."""
    evil = (
        '{"time": "2026-11-24T10:00:00Z", "method": "PUT", "status": 409,'
        ' "path": "/v1/<script>alert(1)</script>", "client": "<img src=x onerror=alert(1)>"}'
    )
    path = write_log(tmp_path / "evil.log", [evil])
    html = tmp_path / "report.html"
    assert logs(str(path), "--html", str(html)) == 0
    page = html.read_text()
    assert "<script>" not in page
    assert "<img" not in page
    assert "/v1/&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


def test_unwritable_output_is_refused_first(
    service_log: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A chart in a directory that does not exist: exit 2 naming it, before any log is read."""
    with pytest.raises(SystemExit) as exit_info:
        logs(str(service_log), "--svg", "/nonexistent/dir/chart.svg")
    assert exit_info.value.code == 2
    out, err = capsys.readouterr()
    assert "there is no directory '/nonexistent/dir'" in err
    assert "Routes" not in out
