"""Big and hostile inputs: diagnose finishes (a bound that only catches a hang) and still
finds the message hidden in them; an input past the read limit says what it skipped."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from bench.diagnose_logs import HOSTILE, corpus_message, filler, hostile, realistic

from httpconflict.tools.diagnose.matching import diagnose
from httpconflict.tools.diagnose.run import head_and_tail, text_of

MESSAGE = "psycopg2-unique.txt"
ANSWER = "postgresql-unique-violation"
# Long enough that a regex quadratic in it runs for minutes, past the hang bound: 50 KB
# of blank lines took 35 s with one such regex, so 150 KB would take about 9 x 35 s.
HOSTILE_SIZE = 150_000
HANG = 60


def diagnose_file(path: Path) -> dict[str, object]:
    """``httpconflict diagnose --json FILE`` in a process, within the hang bound."""
    out = subprocess.run(
        [sys.executable, "-m", "httpconflict.cli", "diagnose", "--json", str(path)],
        capture_output=True,
        timeout=HANG,
        check=False,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )
    assert out.returncode in (0, 1), out.stderr
    answer: dict[str, object] = json.loads(out.stdout)
    return answer


@pytest.mark.parametrize("shape", sorted(HOSTILE))
def test_a_hostile_shape_still_shows_the_message(shape: str, tmp_path: Path) -> None:
    """150 KB of a hostile shape, the words many patterns need, then a message: the
    message is diagnosed, in well under the hang bound."""
    path = tmp_path / "input.txt"
    path.write_text(hostile(HOSTILE[shape], HOSTILE_SIZE, corpus_message(MESSAGE)))
    assert diagnose_file(path)["id"] == ANSWER


def test_invalid_utf8_and_nul_bytes(tmp_path: Path) -> None:
    """Bytes that are no UTF-8, NUL bytes and CR-only line ends around the message."""
    path = tmp_path / "input.bin"
    junk = b"\x80\xff\xc3\x00\r" * (HOSTILE_SIZE // 5)
    path.write_bytes(junk + corpus_message(MESSAGE).encode().replace(b"\n", b"\r") + junk)
    assert diagnose_file(path)["id"] == ANSWER


def test_the_message_at_the_end_of_a_big_log_is_found(tmp_path: Path) -> None:
    """A CI log's failure comes last: after 2.2 MB of log lines (more than the 2,000,000
    characters once read without a word of what was cut) it is still read."""
    import random

    path = tmp_path / "ci.log"
    path.write_text(filler(2_200_000, random.Random(1)) + corpus_message(MESSAGE))
    assert diagnose_file(path)["id"] == ANSWER


def test_a_problem_body_after_many_json_log_lines_is_read() -> None:
    """``kubectl logs`` of JSON lines, then a problem+json body: the body is read as one
    (its type, and its members as details), not only as text."""
    lines = "".join(f'{{"level":"info","n":{n}}}\n' for n in range(3_000))
    body = corpus_message("httpconflict-precondition-failed.json")
    diagnosis = diagnose(lines + body)
    assert diagnosis.best is not None
    assert diagnosis.best.entry.id == "httpconflict-precondition-failed"
    assert diagnosis.evidence.problem_types == (diagnosis.best.entry.problem_type_uri,)
    assert diagnosis.best.details["current_etag"] == '"7f1c"'


def test_json_nested_deeper_than_the_stack() -> None:
    """An unclosed JSON nesting deeper than Python's stack is text, not a crash."""
    diagnosis = diagnose('{"a":' * 100_000 + "\n" + corpus_message(MESSAGE))
    assert diagnosis.best is not None
    assert diagnosis.best.entry.id == ANSWER


def test_a_realistic_log_is_read_whole() -> None:
    """A megabyte of log with ten corpus messages in it: recognised, nothing skipped."""
    diagnosis = diagnose(realistic(1_000_000))
    assert diagnosis.best is not None
    assert diagnosis.evidence.notes == ()


def test_past_the_limit_the_head_and_tail_are_read_and_the_rest_named() -> None:
    """Of a stream longer than the limit, the first and last bytes are kept (memory stays
    bounded) and a sentence says how much was skipped, and which lines."""
    data = b"".join(b"line %d\n" % n for n in range(1, 10_001))
    kept, note = head_and_tail(io.BytesIO(data), head_size=1_000, tail_size=2_000)
    assert kept.startswith(b"line 1\nline 2\n")
    assert kept.endswith(b"line 10000\n")
    assert len(kept) < 4_000
    assert note is not None
    assert "skipped" in note
    assert "lines 124 to" in note
    whole, none = head_and_tail(io.BytesIO(data), head_size=len(data), tail_size=10)
    assert (whole, none) == (data, None)


def test_binary_input_is_read_as_its_runs_of_text(tmp_path: Path) -> None:
    """5 MB of random bytes around a message: the message is found, and the bytes are not
    decoded and matched (20 MB of them took 513 MB and 9.5 s so; 97 MB and 2.7 s now)."""
    import random

    noise = random.Random(7).randbytes(2_500_000)
    path = tmp_path / "core"
    path.write_bytes(noise + b"\n" + corpus_message(MESSAGE).encode() + b"\n" + noise)
    out = subprocess.run(
        [sys.executable, "-m", "httpconflict.cli", "diagnose", "--json", str(path)],
        capture_output=True,
        timeout=HANG,
        check=False,
        text=True,
    )
    assert json.loads(out.stdout)["id"] == ANSWER
    assert "looks binary" in out.stderr
    # What is read of it: its runs of text, a fraction of the bytes.
    read, note = text_of(path.read_bytes())
    assert note is not None
    assert corpus_message(MESSAGE).encode() in read
    assert len(read) < 0.2 * path.stat().st_size


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_byte_order_mark(tmp_path: Path, codec: str) -> None:
    """A Windows tool's UTF-16 output, no BOM: read as text, not as binary."""
    path = tmp_path / "message.txt"
    path.write_bytes(corpus_message(MESSAGE).encode(codec))
    assert diagnose_file(path)["id"] == ANSWER


def test_text_is_not_taken_for_binary() -> None:
    """A log with colours (ESC), tabs, form feeds and CRLF line ends is text, kept whole."""
    log = b"\x1b[31mERROR\x1b[0m\tduplicate key\r\n\x0cpage 2\r\n" * 1000
    assert text_of(log) == (log, None)
