"""Access lines as real platforms write them (tests/logs/samples, each citing its source).

Every line of a sample is read with the format, status, method, target,
client and time its platform wrote, or is not recognised at all: a line
read wrong would count a conflict where there was none, or hide one.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from httpconflict.tools.logs.command import register
from httpconflict.tools.logs.entry import AccessEntry
from httpconflict.tools.logs.formats import FORMATS, LineParser
from tests.logs.running import logs, logs_json, write_log

SAMPLES = Path(__file__).parent / "samples"
#: (format, status, method, target, client, time) of a line; None when it is not a request.
Expected = tuple[str, int, str, str, str | None, str | None] | None


def sample_lines(name: str) -> list[str]:
    """A sample's lines, without the comments that cite where they come from."""
    text = (SAMPLES / name).read_text(encoding="utf-8")
    return [line for line in text.splitlines() if not line.startswith("# ")]


ALB_TIME = "2018-07-02T22:23:00.186641+00:00"
HEROKU_2014 = "2014-09-09T08:45:15.791698+00:00"
CASES: dict[str, list[Expected]] = {
    "alb.log": [
        ("alb", 200, "GET", "http://www.example.com:80/", "192.168.131.39", ALB_TIME),
        ("alb", 200, "GET", "https://www.example.com:443/", "192.168.131.39", ALB_TIME),
        ("alb", 409, "PUT", "https://10.0.2.105:773/v1/notes/42", "10.0.1.252", ALB_TIME),
        ("alb", 101, "GET", "http://10.0.0.30:80/", "10.0.0.140", ALB_TIME),
        ("alb", 460, "PUT", "https://www.example.com:443/v1/notes/42", "192.168.131.39", ALB_TIME),
    ],
    "clouds.log": [
        (
            "alb",
            200,
            "GET",
            "https://www.example.com:443/",
            "192.168.131.39",
            "2015-05-13T23:39:43.945958+00:00",
        ),
        (
            "alb",
            409,
            "PUT",
            "https://www.example.com:443/v1/notes/42",
            "192.168.131.39",
            "2015-05-13T23:39:44.945958+00:00",
        ),
        (
            "json",
            409,
            "POST",
            "/api/v1/customers/cus_ONRq988tDYsiuM/charges",
            "203.0.113.17",
            "2026-11-24T00:08:11.291636+00:00",
        ),
        (
            "json",
            412,
            "PUT",
            "/api/v1/videos/PV3XE74Y3Zj/meta",
            "203.0.113.9",
            "2026-11-24T00:17:26+00:00",
        ),
    ],
    "caddy.log": [
        ("json", 200, "GET", "/", "127.0.0.1", "2022-03-09T21:30:01.524102+00:00"),
        ("json", 412, "PUT", "/v1/notes/42?x=1", "203.0.113.7", "2022-03-09T21:30:02.25+00:00"),
    ],
    "meshes.log": [
        (
            "json",
            412,
            "PUT",
            "/api/v1/pages/release-notes-2024",
            "203.0.113.3",
            "2026-11-24T00:00:28.837000+00:00",
        ),
        (
            "json",
            409,
            "PUT",
            "http://localhost:8000/api/v1/orders/95036/items/38",
            "203.0.113.15",
            "2026-11-24T00:00:01.689000+00:00",
        ),
        (
            "logfmt",
            412,
            "POST",
            "/api/dashboards/db",
            "172.19.0.1",
            "2025-06-22T10:43:59.727224+00:00",
        ),
        # Istio's text line: its client is the downstream peer when X-Forwarded-For is "-";
        # a 503 with response flags (UF,URX) was no line at all.
        ("combined", 418, "GET", "/status/418", "10.44.1.23", "2020-11-25T21:26:18.409+00:00"),
        ("combined", 503, "PUT", "/v1/notes/42", "2001:db8::7", "2020-11-25T21:26:19.409+00:00"),
    ],
    "traefik.log": [
        ("combined", 404, "GET", "/favicon.ico", "192.168.1.10", "2021-03-04T10:30:00+01:00"),
        ("combined", 409, "PUT", "/v1/notes/42", "192.168.1.10", "2021-03-04T10:30:01+01:00"),
        ("json", 409, "PUT", "/v1/notes/42", "192.168.1.10", "2021-03-04T10:30:01+01:00"),
    ],
    "heroku.log": [
        ("logfmt", 200, "GET", "/", "37.73.223.49", "2020-02-21T16:07:34.515030+00:00"),
        ("logfmt", 200, "DELETE", "/auth/", "188.146.45.254", HEROKU_2014),
        ("logfmt", 409, "PUT", "/v1/notes/42", "188.146.45.254", HEROKU_2014),
        ("logfmt", 503, "GET", "/", "204.204.204.204", "2010-10-06T21:51:37-07:00"),
        ("combined", 200, "GET", "/", "10.11.241.172", "2020-02-21T16:07:34"),
    ],
    "containers.log": [
        ("combined", 409, "PUT", "/v1/notes/a", "203.0.113.7", "2026-11-24T20:11:22+00:00"),
        ("uvicorn", 412, "PUT", "/v1/notes/b", "172.17.0.1", "2026-11-24T20:11:23.5+00:00"),
        None,
        ("service-json", 428, "PUT", "/v1/notes/c", "10.244.0.1", "2026-11-24T20:11:24+00:00"),
        ("service-text", 412, "PUT", "/v1/notes/d", None, "2026-11-24T20:11:25+00:00"),
        ("uvicorn", 409, "PATCH", "/v1/notes/e", "10.244.0.1", "2026-11-24T20:11:26+00:00"),
        ("combined", 409, "PUT", "/v1/notes/f", "203.0.113.8", "2026-11-24T20:11:27+00:00"),
        ("service-json", 412, "PUT", "/v1/notes/g", "10.244.0.2", "2026-11-24T20:11:28+00:00"),
    ],
    "syslog.log": [
        ("combined", 409, "PUT", "/v1/notes/a", "203.0.113.7", "2026-11-24T20:11:22+00:00"),
        ("service-json", 412, "PUT", "/v1/notes/b", "203.0.113.9", "2026-11-24T20:11:23+00:00"),
        ("service-text", 428, "PUT", "/v1/notes/c", None, "2026-11-24T20:11:24+00:00"),
        ("uvicorn", 409, "PUT", "/v1/notes/d", "203.0.113.9", "2026-11-24T20:11:25+00:00"),
        ("haproxy", 302, "GET", "/", "192.168.30.102", "2019-03-26T11:37:21.576"),
    ],
    "proxies.log": [
        ("combined", 409, "PUT", "/v1/notes/42", "192.168.65.3", "2026-11-24T20:11:22+00:00"),
        ("combined", 412, "PUT", "/v1/notes/43", "203.0.113.7", "2026-11-24T20:11:23+00:00"),
        # Envoy's: the client is its X-Forwarded-For (it was "-": no client at all).
        (
            "combined",
            204,
            "POST",
            "/api/v1/locations",
            "10.0.35.28",
            "2016-04-15T20:17:00.310+00:00",
        ),
        (
            "combined",
            409,
            "PUT",
            "/api/v1/locations/7",
            "10.0.35.28",
            "2016-04-15T20:17:01.310+00:00",
        ),
        ("haproxy", 409, "PUT", "/admin/api/menu", "115.236.160.82", "2016-06-24T13:04:49.530"),
        ("combined", 200, "GET", "/apache_pb.gif", "127.0.0.1", "2000-10-10T13:55:36-07:00"),
        ("combined", 412, "PUT", "/v1/notes/44", "203.0.113.7", "2026-11-24T20:11:24+00:00"),
    ],
    "devservers.log": [
        ("combined", 409, "PUT", "/v1/notes/42", None, "2026-11-24T20:11:22"),
        ("combined", 200, "GET", "/", None, "2026-11-24T20:11:23"),
        ("combined", 412, "PUT", "/v1/notes/43", "127.0.0.1", "2026-11-24T20:11:24"),
        ("django", 409, "PUT", "/v1/notes/44", None, "2026-11-24T20:11:25.123000"),
        None,  # django.request's warning: not a request line
        ("django", 200, "GET", "/v1/notes/44", None, "2026-11-24T20:11:27.789000"),
    ],
    "gcp.log": [
        (
            "json",
            409,
            "PUT",
            "https://notes-abc123-uc.a.run.app/v1/notes/42",
            "203.0.113.7",
            "2026-11-24T20:11:22.123456+00:00",
        ),
        (
            "json",
            412,
            "GET",
            "https://example.com/v1/notes/43?x=1",
            "198.51.100.4",
            "2026-11-24T20:11:23+00:00",
        ),
    ],
    # IIS names its fields in a #Fields directive (a # line, not a request).
    "iis.log": [
        None,
        None,
        None,
        None,
        ("w3c", 409, "PUT", "/v1/notes/42", "203.0.113.7", "2026-11-24T20:11:22+00:00"),
        ("w3c", 200, "GET", "/v1/notes/42", "203.0.113.7", "2026-11-24T20:11:23+00:00"),
    ],
}


def _offset(iso: str) -> int | None:
    """The offset from UTC an ISO time states, in seconds; None for a time without a zone."""
    moment = datetime.fromisoformat(iso)
    delta = moment.utcoffset()
    return None if delta is None else int(delta.total_seconds())


def _epoch(iso: str) -> float:
    """An ISO time as seconds since the epoch, a time without a zone read as UTC."""
    moment = datetime.fromisoformat(iso)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


@pytest.mark.parametrize(
    ("name", "number"),
    [(name, number) for name, lines in CASES.items() for number in range(len(lines))],
    ids=lambda value: str(value),
)
def test_each_real_line_is_read_right_or_not_at_all(name: str, number: int) -> None:
    """A platform's line gives its format, status, method, target, client and time, or nothing."""
    lines = sample_lines(name)
    parser = LineParser()
    for earlier in lines[:number]:  # a W3C file's #Fields directive names the values after it
        parser.parse(earlier)
    check(parser.parse(lines[number]), CASES[name][number], lines[number])


def check(entry: AccessEntry | None, expected: Expected, line: str) -> None:
    """`entry` is what `expected` says of `line`."""
    if expected is None:
        assert entry is None, entry
        return
    assert entry is not None, line
    log_format, status, method, target, client, when = expected
    got = (entry.log_format, entry.status, entry.method, entry.target, entry.client)
    assert got == (log_format, status, method, target, client)
    if when is None:
        assert entry.time is None
    else:
        assert entry.time == pytest.approx(_epoch(when), abs=1e-6)
        assert entry.offset == _offset(when)


def test_one_parser_reads_every_sample_in_turn() -> None:
    """Read one after the other (as a run reads its files), every line is still read right:
    neither the parser tried first nor the W3C directive kept makes another format's line
    read as the last one's."""
    parser = LineParser()
    for name in ("iis.log", *sorted(set(CASES) - {"iis.log"}), "iis.log"):
        for line, expected in zip(sample_lines(name), CASES[name], strict=True):
            check(parser.parse(line), expected, line)


def test_the_samples_hold_the_lines_the_cases_name() -> None:
    """Every sample has exactly the lines its cases describe (no line left untested)."""
    for name, lines in CASES.items():
        assert len(sample_lines(name)) == len(lines), name
    assert sorted(CASES) == sorted(path.name for path in SAMPLES.glob("*.log"))


def test_every_format_can_be_forced() -> None:
    """``--format`` offers exactly the formats the parsers know."""
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    logs = parser.parse_args(["logs", "x"])
    assert logs.format == "auto"
    for name in FORMATS:
        assert parser.parse_args(["logs", "x", "--format", name]).format == name


def test_a_file_with_no_line_read_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file none of whose lines is read is reported as not read, with an example line, exit 3.

    Cloud Logging's export (``gcloud logging read --format=json``) is one JSON array,
    pretty-printed over many lines: none of them is an entry.
    """
    entries = [json.loads(line) for line in sample_lines("gcp.log")]
    export = write_log(tmp_path / "export.json", json.dumps(entries, indent=2).splitlines())
    nginx = write_log(tmp_path / "access.log", sample_lines("proxies.log")[:2])
    report = logs_json(capsys, str(export), str(nginx), code=3)
    assert report["lines"]["requests"] == 2
    assert report["conflicts"]["total"] == 2
    (failure,) = report["unreadable"]
    assert failure["source"] == str(export)
    lines = len(json.dumps(entries, indent=2).splitlines())
    assert failure["reason"] == (
        f"none of its {lines} lines is an access line in a format logs reads (line 1: [)"
    )


def test_a_file_of_blank_lines_is_no_failure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An empty or blank log (a quiet rotation) is read, with nothing to count: exit 0."""
    empty = write_log(tmp_path / "empty.log", [])
    blank = write_log(tmp_path / "blank.log", ["", "  "])
    report = logs_json(capsys, str(empty), str(blank))
    assert report["unreadable"] == []


def test_lines_of_several_formats_warn_of_counting_a_request_twice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`heroku logs` holds the router's and the app's line for each request: the report says
    a request logged by both is counted twice, and --format heroku counts the router's only."""
    path = write_log(tmp_path / "heroku.log", sample_lines("heroku.log"))
    assert logs(str(path)) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert (
        "lines in 2 formats (logfmt 4, combined 1): a request two servers logged "
        "(a proxy and the app behind it) is counted once per server; --format counts one"
    ) in out
    report = logs_json(capsys, str(path), "--format", "heroku")
    assert report["formats"] == {"logfmt": 4}
    assert logs(str(write_log(tmp_path / "router.log", sample_lines("heroku.log")[:4]))) == 0
    assert "formats" not in " ".join(capsys.readouterr().out.split())


def test_a_number_that_is_no_time_is_not_read_as_one() -> None:
    """``"t": 5`` (a count under a name that is Grafana's time) is not a time in 1970."""
    entry = LineParser().parse('{"t": 5, "status": 409, "method": "PUT", "path": "/v1/notes/1"}')
    assert entry is not None
    assert entry.time is None
