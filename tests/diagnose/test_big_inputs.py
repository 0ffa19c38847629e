"""Big and hostile inputs: diagnose finishes (a bound that only catches a hang) and still
finds the message hidden in them; an input past the read limit says what it skipped."""

from __future__ import annotations

import io
import json
import random
import subprocess
from collections.abc import Callable
from typing import Any, Final

import pytest
from bench.diagnose_logs import HOSTILE, corpus_message, filler, hostile, realistic

from httpconflict.tools.diagnose.evidence import MAX_DOCUMENTS, read
from httpconflict.tools.diagnose.long_lines import LONGEST, MARKER, shortened
from httpconflict.tools.diagnose.matching import diagnose
from httpconflict.tools.diagnose.run import capped, decoded, head_and_tail, text_of
from tests.command_line import python
from tests.forked_cli import TIMEOUT

MESSAGE = "psycopg2-unique.txt"
ANSWER = "postgresql-unique-violation"
# Long enough that a regex quadratic in it runs for minutes, past the hang bound (each
# process is ended after `TIMEOUT`, 60 s, by tests/forked_cli.py): 50 KB
# of blank lines took 35 s with one such regex, so 150 KB would take about 9 x 35 s.
HOSTILE_SIZE = 150_000


def _big_log() -> bytes:
    return (filler(2_200_000, random.Random(1)) + corpus_message(MESSAGE)).encode()


def _binary() -> bytes:
    noise = random.Random(7).randbytes(2_500_000)
    return noise + b"\n" + corpus_message(MESSAGE).encode() + b"\n" + noise


def _invalid_utf8() -> bytes:
    junk = b"\x80\xff\xc3\x00\r" * (HOSTILE_SIZE // 5)
    return junk + corpus_message(MESSAGE).encode().replace(b"\n", b"\r") + junk


def _hostile(shape: str) -> Callable[[], bytes]:
    return lambda: hostile(HOSTILE[shape], HOSTILE_SIZE, corpus_message(MESSAGE)).encode()


def _utf16(codec: str) -> Callable[[], bytes]:
    return lambda: corpus_message(MESSAGE).encode(codec)


#: The inputs `httpconflict diagnose --json FILE` reads, each in a process of its own.
INPUTS: Final[dict[str, Callable[[], bytes]]] = {
    **{f"hostile {shape}": _hostile(shape) for shape in HOSTILE},
    "invalid utf-8": _invalid_utf8,
    "big log": _big_log,
    "binary": _binary,
    **{codec: _utf16(codec) for codec in ("utf-16-le", "utf-16-be")},
}


Answer = subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def answers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Answer]:
    """``httpconflict diagnose --json FILE`` of each input, each in a process of its own
    stopped at the hang bound (tests/forked_cli.py: one import of the command for all)."""
    folder = tmp_path_factory.mktemp("big")
    paths = {name: folder / f"input-{n}" for n, name in enumerate(INPUTS)}
    for name, make in INPUTS.items():
        paths[name].write_bytes(make())
    request = [
        {"args": ["diagnose", "--json", str(path)], "cwd": str(folder)} for path in paths.values()
    ]
    done = python(
        "-m",
        "tests.forked_cli",
        stdin=json.dumps(request),
        env={"PYTHONIOENCODING": "utf-8"},
        # Each case has its own bound; all of them one after another, at worst.
        timeout=TIMEOUT * len(request),
    )
    assert done.returncode == 0, done.stderr
    return {
        name: Answer(case["args"], a["status"], a["stdout"], a["stderr"])
        for name, case, a in zip(INPUTS, request, json.loads(done.stdout), strict=True)
    }


def answer_id(answer: Answer) -> object:
    """The diagnosis's id, from a process that ended as diagnose ends (within the bound:
    one ended at it has status -14, SIGALRM)."""
    assert answer.returncode in (0, 1), answer.stderr
    return json.loads(answer.stdout)["id"]


@pytest.mark.parametrize("shape", sorted(HOSTILE))
def test_a_hostile_shape_still_shows_the_message(shape: str, answers: dict[str, Answer]) -> None:
    """150 KB of a hostile shape, the words many patterns need, then a message: the
    message is diagnosed, in well under the hang bound."""
    assert answer_id(answers[f"hostile {shape}"]) == ANSWER


def test_invalid_utf8_and_nul_bytes(answers: dict[str, Answer]) -> None:
    """Bytes that are no UTF-8, NUL bytes and CR-only line ends around the message."""
    assert answer_id(answers["invalid utf-8"]) == ANSWER


def test_the_message_at_the_end_of_a_big_log_is_found(answers: dict[str, Answer]) -> None:
    """A CI log's failure comes last: after 2.2 MB of log lines (more than the 2,000,000
    characters once read without a word of what was cut) it is still read."""
    assert answer_id(answers["big log"]) == ANSWER


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


def test_binary_input_is_read_as_its_runs_of_text(answers: dict[str, Answer]) -> None:
    """5 MB of random bytes around a message: the message is found, and the bytes are not
    decoded and matched (20 MB of them took 513 MB and 9.5 s so; 97 MB and 2.7 s now)."""
    answer = answers["binary"]
    assert answer_id(answer) == ANSWER
    assert "looks binary" in answer.stderr
    # What is read of it: its runs of text, a fraction of the bytes.
    data = _binary()
    read, note = text_of(data)
    assert note is not None
    assert corpus_message(MESSAGE).encode() in read
    assert len(read) < 0.2 * len(data)


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_byte_order_mark(codec: str, answers: dict[str, Answer]) -> None:
    """A Windows tool's UTF-16 output, no BOM: read as text, not as binary."""
    assert answer_id(answers[codec]) == ANSWER


def test_text_is_not_taken_for_binary() -> None:
    """A log with colours (ESC), tabs, form feeds and CRLF line ends is text, kept whole."""
    log = b"\x1b[31mERROR\x1b[0m\tduplicate key\r\n\x0cpage 2\r\n" * 1000
    assert text_of(log) == (log, None)


class _Endless(io.RawIOBase):
    """A stream that never ends (``yes ... |``, ``tail -f log |``), counting what was read."""

    def __init__(self, line: bytes) -> None:
        self.line = line
        self.given = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        size = len(buffer)
        data = (self.line * (size // len(self.line) + 1))[:size]
        buffer[:size] = data
        self.given += size
        return size


def test_a_stream_that_never_ends_is_read_up_to_the_limit() -> None:
    """stdin that never ends (``yes ... | diagnose -`` never answered): reading stops at the
    limit, at a line's end, and a sentence says the input was cut there."""
    endless = _Endless(b"Error 1213: Deadlock found when trying to get lock\n")
    data, note = capped(io.BufferedReader(endless), cap=10_000)
    assert len(data) <= 10_000
    assert data.endswith(b"lock\n")
    assert endless.given < 100_000
    assert note is not None
    assert "stopped reading" in note
    assert "10,000 bytes" in note or "9.8 KiB" in note
    assert diagnose(decoded(data)).best is not None


def test_a_stream_within_the_limit_is_read_whole() -> None:
    """A piped message shorter than the limit is read whole, with nothing said."""
    message = corpus_message(MESSAGE).encode()
    assert capped(io.BytesIO(message), cap=len(message)) == (message, None)
    assert capped(io.BytesIO(message), cap=10 * len(message)) == (message, None)


def test_a_line_longer_than_the_longest_read_is_read_by_its_ends() -> None:
    """A line of megabytes (it cost 10 s at 10 MB, over 60 s at 50 MB) is read as its first
    and last part: the message at its end is found, and a note says what was not read."""
    message = corpus_message(MESSAGE).replace("\n", " ")
    evidence = read("y" * (3 * LONGEST) + " " + message)
    assert evidence.text.startswith("y" * 1000)
    assert message in evidence.text
    assert "y" * (LONGEST // 2 + 1) not in evidence.text
    assert any("not read" in note and "(line 1)" in note for note in evidence.notes)
    short, none = shortened("a\n" + "b" * 30 + "\nc", longest=10)
    assert short == "a\nbbbbb" + MARKER + "bbbbb\nc"
    assert none is not None
    assert shortened("a line\n" * 100, longest=10) == ("a line\n" * 100, None)


def test_many_json_objects_are_read_by_the_first_and_last() -> None:
    """A log of JSON lines past the limit keeps the first and last objects as JSON (39 MB of
    them took 646 MB), and says how many it read as text only."""
    lines = "".join(f'{{"level":"info","n":{n}}}\n' for n in range(MAX_DOCUMENTS + 100))
    body = (
        '{"status":409,"error":{"type":"version_conflict_engine_exception",'
        '"reason":"[7]: version conflict"}}\n'
    )
    evidence = read(lines + body)
    assert any("101 between them as text only" in note for note in evidence.notes)
    assert 409 in evidence.statuses
    assert diagnose(lines + body).best is not None


@pytest.mark.parametrize(
    "control", [b"\x07", b"\x00", b"\x1b", b"\x08"], ids=["bel", "nul", "esc", "backspace"]
)
def test_a_few_control_bytes_in_a_message_are_spaces(control: bytes) -> None:
    """A BEL, NUL, ESC or backspace inside a message (BEL in "value\\x07 violates") is a space:
    the input stays text, and the phrase around it is read whole."""
    message = corpus_message(MESSAGE).encode()
    dirty = b"\x01\x02" + message.replace(b" violates", control + b" violates").replace(
        b"DETAIL:", b"DETAIL:" + control
    )
    data, note = text_of(dirty)
    assert note is None
    assert control not in data
    assert len(data) == len(dirty)
    best = diagnose(decoded(data)).best
    assert best is not None
    assert best.entry.id == ANSWER


def test_a_small_binary_input_is_measured_in_bytes() -> None:
    """The note on a small binary input says its size in bytes, not "0 KiB ... 0.0 MiB"."""
    _, note = text_of(bytes(range(32)) * 4 + b"conflict here")
    assert note is not None
    assert "141 bytes" in note
    assert "0.0 MiB" not in note
    assert "0 KiB" not in note
