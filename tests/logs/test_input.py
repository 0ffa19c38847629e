"""What the tool reads: mixed formats, garbage, gzip, stdin, several files, unreadable ones."""

from __future__ import annotations

import gzip
import json
import random
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from httpconflict.tools.logs.formats import LineParser
from httpconflict.tools.logs.reading import MAX_LINE
from httpconflict.tools.logs.run import scan
from httpconflict.tools.logs.tally import Tally
from tests.logs.generate import (
    SPIKE_EXTRA,
    conflicts,
    expected,
    generic_json,
    iso,
    nginx,
    scenario,
    service_json,
    service_text,
    uvicorn,
)
from tests.logs.running import causes, cli, logs, logs_json, rows, timeline, write_log

REQUESTS = scenario()
WRITERS = (nginx, uvicorn, service_json, generic_json)
MIXED = [WRITERS[i % len(WRITERS)](r) for i, r in enumerate(REQUESTS)]

# Lines that are not requests in any format; none may stop the tool.
GARBAGE = (
    '10.0.0.1 - - [24/Nov/2026:10:00:01 +0000] "PUT /v1/no',  # cut off
    "[1, 2, 3]",
    '"a JSON string"',
    "{not json at all",
    '{"status": 409}',  # no method, no target
    '{"status": "abc", "path": "/v1/notes/1", "method": "PUT"}',
    '{"level": "info", "msg": "worker started"}',
    "\x1b[31mHTTP/1.1 409 Conflict\x1b[0m",
    "Traceback (most recent call last):",
    "[" * 50_000,  # deeper than the JSON parser goes
    "\u202e409 PUT /v1/notes/1",
    '127.0.0.1 - - [99/Nov/2026:10:00:01 +0000] "PUT /v1/notes/1 HTTP/1.1" 409',  # no size
)
BLANK = ("", "   ", "\t")


def test_mixed_formats_in_one_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Four formats interleaved line by line are each recognised; the counts still match.
    Times are shown in the zone of the first line (nginx's +01:00), and the report counts
    the lines written in another."""
    report = logs_json(capsys, str(write_log(tmp_path / "mixed.log", MIXED)))
    assert report["formats"] == {
        "combined": len(REQUESTS[0::4]),
        "uvicorn": len(REQUESTS[1::4]),
        "service-json": len(REQUESTS[2::4]),
        "json": len(REQUESTS[3::4]),
    }
    assert rows(report, "routes", "route") == expected(REQUESTS, lambda r: r.route)
    assert rows(report, "clients", "client") == expected(REQUESTS, lambda r: r.client)
    assert report["zone"] == "+01:00"
    assert timeline(report) == expected(REQUESTS, lambda r: iso(r.bucket_start, 60))
    assert (
        report["other_zones"]
        == {
            "no zone stated": len(REQUESTS[1::4]),  # uvicorn's asctime
            "UTC": len(REQUESTS[2::4]) + len(REQUESTS[3::4]),  # Z, and epoch milliseconds
        }
    )
    logged = REQUESTS[2::4] + REQUESTS[3::4]  # the JSON lines name the problem
    assert causes(report) == expected(logged, lambda r: r.problem)
    assert report["uncaused"] == len(conflicts(REQUESTS)) - len(conflicts(logged))
    assert [s["status"] for s in report["spikes"]] == [409]


def test_garbage_is_counted_not_fatal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Unrecognised lines (binary, cut off, over-long, not requests) are counted and sampled."""
    rng = random.Random(3)
    lines = list(MIXED)
    for junk in (*GARBAGE, *BLANK):
        lines.insert(rng.randrange(len(lines)), junk)
    path = tmp_path / "dirty.log"
    over_long = b'10.0.0.1 - - [24/Nov/2026:10:00:01 +0000] "GET /' + b"a" * (2 * MAX_LINE)
    binary = b"\x16\x03\x01\x02\x00\xff\xfe\x00\x00binary\x00\n"
    text = "\n".join(lines).encode() + b"\n" + over_long + b' HTTP/1.1" 409 0\n' + binary
    path.write_bytes(text + b"last line, no newline")
    report = logs_json(capsys, str(path))
    unrecognised = len(GARBAGE) + 3  # + the over-long line, the binary one and the last
    assert report["lines"] == {
        "total": len(MIXED) + len(GARBAGE) + len(BLANK) + 3,
        "requests": len(MIXED),
        "blank": len(BLANK),
        "unrecognised": unrecognised,
    }
    assert report["conflicts"]["total"] == len(conflicts(REQUESTS))
    assert rows(report, "routes", "route") == expected(REQUESTS, lambda r: r.route)
    examples = report["unrecognised_examples"]
    assert len(examples) == 5
    assert all(e["source"] == str(path) and e["line"] > 0 for e in examples)
    assert all(len(e["text"]) <= 200 for e in examples)


@pytest.mark.parametrize(
    "line",
    [
        "[" * MAX_LINE,
        '10.0.0.1 - - [24/Nov/2026:10:00:01 +0000] "GET /' + "a" * MAX_LINE,
        "a " * (MAX_LINE // 2),
        '- "' * (MAX_LINE // 3),
        "2026-11-24T10:00:00Z PUT " + "/x 409 " * (MAX_LINE // 7),
        'a:1 - "GET ' * (MAX_LINE // 11),
        "1:" * (MAX_LINE // 2),
    ],
    ids=[
        "brackets",
        "unclosed-request",
        "spaces",
        "dash-quotes",
        "service-ish",
        "uvicorn-ish",
        "colons",
    ],
)
def test_hostile_lines_fail_fast(line: str) -> None:
    """A 64 KiB line built to make a regex backtrack is refused in milliseconds, not minutes."""
    parser = LineParser()
    started = time.perf_counter()
    assert parser.parse(line) is None
    assert time.perf_counter() - started < 0.5


def test_garbage_in_the_terminal_is_escaped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Escape sequences and rich markup in a log line reach the terminal inert (out and err)."""
    path = write_log(tmp_path / "evil.log", ["\x1b[2J\x1b[31m[bold red]owned[/bold red]\u202egpj"])
    assert logs(str(path)) == 3  # no line of it read: said so, as for a file not read
    out, err = capsys.readouterr()
    for shown in (out, err):
        assert "\x1b" not in shown
        assert "\u202e" not in shown
        assert "\\x1b[2J\\x1b[31m[bold red]owned[/bold red]\\u202egpj" in shown


@pytest.mark.parametrize(
    ("ending", "bom"),
    [
        pytest.param("\r", False, id="cr-only"),
        pytest.param("\r\n", True, id="crlf-bom"),
        pytest.param("\n", True, id="lf-bom"),
        pytest.param("\r", True, id="cr-only-bom"),
    ],
)
def test_line_endings_and_a_byte_order_mark(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], ending: str, bom: bool
) -> None:
    """Lines ended by CR alone were one line (1 request, 0 conflicts, exit 0: a wrong answer
    said as right); a UTF-8 byte order mark lost the first line when it was JSON."""
    path = tmp_path / "access.log"
    text = ending.join(generic_json(r) for r in REQUESTS) + ending
    path.write_bytes(("\ufeff" if bom else "").encode() + text.encode())
    report = logs_json(capsys, str(path))
    assert report["lines"]["requests"] == len(REQUESTS)
    assert report["lines"]["unrecognised"] == 0
    assert rows(report, "routes", "route") == expected(REQUESTS, lambda r: r.route)


def test_the_html_page_writes_control_characters_out(tmp_path: Path) -> None:
    """A route holding escape sequences is shown written out in the page, as on the terminal
    (the page had the raw ESC and BEL bytes)."""
    evil = '10.0.0.1 - - [24/Nov/2026:10:00:01 +0000] "PUT /v1/\x1b]8;;\x07x\u202e HTTP/1.1" 409 2'
    path = write_log(tmp_path / "evil.log", [evil, *[nginx(r) for r in REQUESTS]])
    page = tmp_path / "page.html"
    assert logs(str(path), "--html", str(page)) in (0, 1)
    shown = page.read_text(encoding="utf-8")
    assert "\x1b" not in shown
    assert "\x07" not in shown
    assert "\u202e" not in shown
    assert "\\x1b]8;;\\x07" in shown


def test_a_forced_format_reads_only_its_own_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--format combined (or nginx) counts the other formats' lines as unrecognised."""
    path = write_log(tmp_path / "mixed.log", MIXED)
    for name in ("combined", "nginx", "apache"):
        report = logs_json(capsys, str(path), "--format", name)
        assert report["formats"] == {"combined": len(REQUESTS[0::4])}
        assert report["lines"]["unrecognised"] == len(MIXED) - len(REQUESTS[0::4])
    report = logs_json(capsys, str(path), "--format", "json")
    assert report["formats"] == {"service-json": len(REQUESTS[2::4]), "json": len(REQUESTS[3::4])}
    report = logs_json(capsys, str(path), "--format", "gunicorn")
    assert report["formats"] == {"combined": len(REQUESTS[0::4]), "uvicorn": len(REQUESTS[1::4])}


def test_gzip_is_recognised_by_content(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A gzip file is read whatever its name, and several files add up."""
    half = len(REQUESTS) // 2
    plain = write_log(tmp_path / "access.log", [service_text(r) for r in REQUESTS[half:]])
    rotated = tmp_path / "access.log.1"  # no .gz: logrotate's delaycompress names vary
    text = "".join(service_text(r) + "\n" for r in REQUESTS[:half])
    rotated.write_bytes(gzip.compress(text.encode()))
    report = logs_json(capsys, str(rotated), str(plain))
    assert report["sources"] == [str(rotated), str(plain)]
    assert report["lines"]["requests"] == len(REQUESTS)
    assert rows(report, "routes", "route") == expected(REQUESTS, lambda r: r.route)
    assert causes(report) == expected(REQUESTS, lambda r: r.problem)


def test_a_truncated_gzip_is_unreadable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A gzip file cut short: exit 3, named on stderr; the lines before the cut still count."""
    whole = gzip.compress("".join(service_text(r) + "\n" for r in REQUESTS).encode())
    path = tmp_path / "cut.log.gz"
    path.write_bytes(whole[: len(whole) * 2 // 3])
    assert logs(str(path), "--json") == 3
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert 0 < report["lines"]["requests"] < len(REQUESTS)
    assert report["lines"]["unrecognised"] <= 1  # the line the cut went through
    [failure] = report["unreadable"]
    assert failure["source"] == str(path)
    assert "after line" in failure["reason"]
    assert f"cannot read {path}" in err


def test_missing_and_directory_sources(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Exit 3 for a missing file or a directory; the readable files are still reported."""
    good = write_log(tmp_path / "good.log", [service_json(r) for r in REQUESTS])
    missing = tmp_path / "missing.log"
    report = logs_json(capsys, str(missing), str(good), str(tmp_path), code=3)
    assert report["lines"]["requests"] == len(REQUESTS)
    assert [u["source"] for u in report["unreadable"]] == [str(missing), str(tmp_path)]
    assert "No such file" in report["unreadable"][0]["reason"]


def test_fail_on_spike(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--fail-on-spike exits 1 when there is a spike and 0 when there is none."""
    path = write_log(tmp_path / "access.log", [service_json(r) for r in REQUESTS])
    assert logs(str(path)) == 0
    assert logs(str(path), "--fail-on-spike") == 1
    calm = [r for r in REQUESTS if r.client != "203.0.113.9"]
    path = write_log(tmp_path / "calm.log", [service_json(r) for r in calm])
    assert logs(str(path), "--fail-on-spike") == 0
    # A higher minimum puts the spike under the rule.
    assert logs(str(path), "--fail-on-spike", "--spike-min", str(SPIKE_EXTRA + 3)) == 0


@pytest.mark.parametrize(
    "argv",
    [["--bucket", "0"], ["--bucket", "5w"], ["--top", "0"], ["--spike-factor", "-1"], []],
    ids=["bucket-0", "bucket-unit", "top-0", "factor-negative", "no-file"],
)
def test_bad_usage_is_2(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    """Bad arguments are argparse's exit 2, with a message."""
    with pytest.raises(SystemExit) as exit_info:
        logs(*argv, *(["x.log"] if argv else []))
    assert exit_info.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_stdin_plain_and_gzip() -> None:
    """- reads stdin, plain or gzip, through the real command."""
    text = "".join(line + "\n" for line in MIXED).encode()
    for data in (text, gzip.compress(text)):
        done = cli("-", "--json", stdin=data)
        assert done.returncode == 0, done.stderr.decode()
        report = json.loads(done.stdout)
        assert report["sources"] == ["<stdin>"]
        assert report["lines"]["requests"] == len(REQUESTS)
        assert rows(report, "routes", "route") == expected(REQUESTS, lambda r: r.route)


def _many_lines(count: int) -> Iterator[str]:
    rng = random.Random(5)
    for i in range(count):
        status = (200, 200, 201, 409, 412, 428)[i % 6]
        yield json.dumps(
            {
                "ts": 1_795_000_000 + i // 4,
                "method": "PUT",
                "path": f"/v1/notes/{rng.getrandbits(40)}?v={i}",
                "status": status,
                "client": f"10.0.{i % 50}.1",
            }
        )


def test_memory_does_not_grow_with_the_log(tmp_path: Path) -> None:
    """60,000 lines, all distinct URLs, are tallied in under 3 MB: nothing is kept per line.

    What memory there is holds the distinct routes, methods and clients, and
    the timeline's slots (at most MAX_SLOTS: these conflicts, every second
    for four hours, make it coarsen).
    """
    path = tmp_path / "big.log"
    with path.open("w") as out:
        out.writelines(line + "\n" for line in _many_lines(60_000))
    tally = Tally()
    tracemalloc.start()
    try:
        assert scan(str(path), LineParser(), tally) is None
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert tally.lines == 60_000
    assert sum(tally.routes.values()) == 30_000
    assert tally.timeline.resolution > 1
    assert path.stat().st_size > 6_000_000
    assert peak < 3_000_000, f"peak {peak} bytes"
