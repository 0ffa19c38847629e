"""A message a structured logger wrote as one JSON line (or Docker as one per line) reads as
the message it carries."""

from __future__ import annotations

import json
from functools import cache
from typing import Final

import pytest
from bench.diagnose_json_logs import SHAPES, corpus_text, names, reading, status_of

from httpconflict.tools.diagnose.evidence import read
from httpconflict.tools.diagnose.matching import diagnose
from httpconflict.tools.diagnose.structured import unpacked

#: Of the corpus's messages (look-alikes too), every this many-th is read in each shape here;
#: `python -m bench.diagnose_json_logs` reads them all (1,184 in each of the 7 shapes).
EVERY: Final = 16
#: How many of the sample read as alone (entry and details), per shape. Before JSON log lines
#: were read as their messages, of the whole corpus: pino 1,115, structlog 1,111, logrus
#: 1,115, Serilog 1,115, Google Cloud 1,109, Docker 987, status members 1,126 of 1,184
#: (the entry alone: 1,175, 1,173, 1,175, 1,175, 1,169, 1,169, 1,179); now all 1,184. Of
#: this sample of 74: 69, 69, 69, 69, 67, 68, 69 before; all now.
FLOORS: Final = dict.fromkeys(SHAPES, 74)
#: Cases each shape misread, most in all of them: a Kubernetes Status or a status line that
#: JSON escaped onto one line, Latin-1 mojibake escaped as \u00c3, a message that Docker
#: cut into records.
MISREAD: Final = (
    "java-k8s-client-apiexception-configmap-exists.txt",
    "python-k8s-409-object-being-deleted.txt",
    "python-k8s-rc-reason-conflict-log.txt",
    "terraform-aws-v1-role-exists-409.txt",
    "terraform-app-engine-cannot-be-recreated.txt",
    "curl-i-409-plain.txt",
    "google-dotnet-requesterror-412-if-match.txt",
    "symfony-server-returned-409.txt",
    "gip3-jboss-pgjdbc-spanish-mojibake-pkey.txt",
    "gip3-hibernate-spanish-mojibake-audit-log.txt",
    "sqlserver-pk-violation-caused-by.txt",
    "npm-attempting-to-modify-version.txt",
    "s3-precondition-failed-boto3.txt",
    "axios-409.txt",
    "mongoose-e11000.txt",
    "aeonvera-exception-table-html-escaped-unique.txt",
)


@cache
def _alone(name: str) -> tuple[tuple[str | None, dict[str, str]], int | None]:
    """How case `name` reads pasted alone, and the status it states (read once per run)."""
    alone = diagnose(corpus_text(name))
    return reading(alone), status_of(alone)


def _misread(name: str, shape: str) -> str | None:
    expected, status = _alone(name)
    got = reading(diagnose(SHAPES[shape](corpus_text(name), status)))
    return None if got == expected else f"{name}: {expected} -> {got}"


@pytest.mark.parametrize("shape", list(SHAPES))
def test_corpus_messages_in_json_log_lines_read_as_alone(shape: str) -> None:
    """Every sixteenth corpus message, written by a structured logger (pino, structlog, logrus,
    Serilog, Google Cloud), by Docker's json-file driver (a record per line) or beside a
    request logger's status members, gets the entry and details it gets alone."""
    sample = list(names())[::EVERY]
    wrong = [miss for name in sample if (miss := _misread(name, shape)) is not None]
    assert len(sample) == 74
    assert len(sample) - len(wrong) >= FLOORS[shape], wrong


@pytest.mark.parametrize("shape", list(SHAPES))
def test_messages_once_misread_in_a_json_log_line(shape: str) -> None:
    """The messages a JSON log line hid (a Kubernetes Status escaped in a string, a status
    line on no line of its own, escaped mojibake, escaped quotes in the details, a message
    Docker cut into records) read as alone."""
    wrong = [miss for name in MISREAD if (miss := _misread(name, shape)) is not None]
    assert wrong == []


def test_docker_s_pieces_of_one_long_line_are_joined() -> None:
    """Docker cuts a line longer than 16 KiB into records without a line end: joined, the
    line is read whole."""
    text = "".join(
        json.dumps({"log": piece, "stream": "stderr", "time": f"2026-12-05T18:40:01.{n}Z"}) + "\n"
        for n, piece in enumerate(
            ("pq: duplicate key value violates uni", 'que constraint "users_email_key"\n')
        )
    )
    best = diagnose(text).best
    assert best is not None
    assert best.entry.id == "postgresql-unique-violation"
    assert best.details["constraint"] == "users_email_key"


def test_another_stream_s_records_are_not_joined() -> None:
    """Records of stdout between those of stderr end the stderr's run: each is its own."""
    text = "".join(
        json.dumps({"log": log, "stream": stream}) + "\n"
        for log, stream in (("a\n", "stderr"), ("b\n", "stdout"), ("c\n", "stderr"))
    )
    assert unpacked(text).text.split("\n")[:6:2] == ["a", "b", "c"]


def test_a_status_member_is_the_message_s_not_the_next_one_s() -> None:
    """A request logger's 503 on one JSON line is not the status of the unique violation on the
    next, and that one's message starts its own record."""
    text = (
        json.dumps({"level": "error", "status": 503, "msg": "upstream failed"})
        + "\n"
        + json.dumps(
            {
                "level": "error",
                "msg": 'ERROR:  duplicate key value violates unique constraint "users_email_key"'
                "\nDETAIL:  Key (email)=(a@b.c) already exists.",
            }
        )
    )
    best = diagnose(text).best
    assert best is not None
    assert best.entry.id == "postgresql-unique-violation"
    assert "status" not in best.details
    assert best.details["value"] == "a@b.c"


def test_status_members_beside_a_message_are_its_status() -> None:
    """pino-http's ``res.statusCode`` beside a message of several lines is the message's."""
    message = "Error: the update was refused\n    at save (/srv/app.js:10:5)"
    text = json.dumps({"level": 50, "res": {"statusCode": 412}, "msg": message})
    best = diagnose(text).best
    assert best is not None
    assert best.entry.id == "http-412-precondition-failed"
    assert best.details["status"] == "412"


@pytest.mark.parametrize(
    "record",
    [
        pytest.param({"level": "info", "status": 200, "msg": "request completed"}, id="200"),
        pytest.param(
            {"level": "error", "res": {"statusCode": 404}, "msg": "Not Found\n    at f (a.js:1:2)"},
            id="404",
        ),
        pytest.param(
            {"level": "warn", "msg": "retrying in 0.5 s\nattempt 2 of 5", "ts": 1.5}, id="retry"
        ),
    ],
)
def test_a_json_log_line_of_no_conflict_stays_none(record: dict[str, object]) -> None:
    """A JSON log line that states no conflict, read as its message, is no conflict."""
    assert diagnose(json.dumps(record)).best is None


def test_escapes_that_are_no_character_read_as_a_replacement() -> None:
    """Half a surrogate pair reads as U+FFFD and an escape JSON has not (``\\x41``) as text:
    the line is still read as its message."""
    text = (
        '{"level":"error","msg":"ERROR:  duplicate key value violates unique constraint '
        '\\"users_email_key\\"\\nDETAIL:  Key (email)=(a\\udc80\\x41) already exists."}'
    )
    best = diagnose(text).best
    assert best is not None
    assert best.details["value"] == "a\ufffd\\x41"
    assert "\ud800" not in read(text).text


@pytest.mark.parametrize(
    "line",
    [
        pytest.param('{"message": "conflict", "status": 409}', id="body"),
        pytest.param('{"kind":"Status","message":"a \\"b\\" already exists","code":409}', id="k8s"),
        pytest.param('{"timestamp":"2026-12-05","status":409,"message":"x"}', id="spring-body"),
        pytest.param('{"level":"error","msg":"x"', id="cut"),
        pytest.param('{"level":"error","msg":17}', id="no-text"),
    ],
)
def test_what_is_no_json_log_line_stays_as_it_is(line: str) -> None:
    """A response body (no level, severity or log time beside its message), a cut line or one
    with no message is left as it was pasted."""
    assert unpacked(line).text == line
