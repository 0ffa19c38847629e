"""What the tool writes: terminal tables, --png (a chart), --html (a page with the chart)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from matplotlib.image import imread

from httpconflict.tools.logs.chart import DPI, SIZE
from tests.logs.generate import (
    SPIKE_CLIENT,
    conflicts,
    scenario,
    service_json,
    uvicorn_without_time,
)
from tests.logs.running import logs, write_log

REQUESTS = scenario()
WIDTH, HEIGHT = int(SIZE[0] * DPI), int(SIZE[1] * DPI)


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
    assert "2026-11-24T11:10:00Z" in out  # the spike's bucket
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
    assert report["spike_rule"] == "count >= 5 and count > 3 x max(median, 1)"


def test_png_chart(service_log: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--png writes a PNG of the expected size that opens as an image, with lines on it."""
    png = tmp_path / "chart.png"
    assert logs(str(service_log), "--png", str(png)) == 0
    assert png.stat().st_size > 0
    image = imread(png)
    assert image.shape[:2] == (HEIGHT, WIDTH)
    # Not a blank canvas: the three status colours are drawn.
    colours = {tuple(round(float(c), 1) for c in pixel[:3]) for row in image for pixel in row}
    assert len(colours) > 20


def test_png_without_times(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A log without times still gets a chart (saying so) and no error."""
    path = write_log(tmp_path / "uvicorn.log", [uvicorn_without_time(r) for r in REQUESTS])
    png = tmp_path / "chart.png"
    assert logs(str(path), "--png", str(png)) == 0
    assert imread(png).shape[:2] == (HEIGHT, WIDTH)


def test_png_of_one_bucket(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A log within one second (one bucket) charts without a warning (they are errors here)."""
    path = write_log(tmp_path / "one.log", [service_json(r) for r in REQUESTS[:1]])
    assert logs(str(path), "--png", str(tmp_path / "one.png")) == 0


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
    assert "<td>2026-11-24T11:10:00Z</td>" in page
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


def test_unwritable_output_is_3(service_log: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A chart that cannot be written: exit 3 and a message; the report is still printed."""
    assert logs(str(service_log), "--png", "/nonexistent/dir/chart.png") == 3
    out, err = capsys.readouterr()
    assert "cannot write" in err
    assert "Routes" in out
