"""A conflict pasted in the middle of a long log: its details are read from its own message."""

from __future__ import annotations

import random
from typing import Final

import pytest
from bench.diagnose_noise import (
    HEADER,
    NOISE,
    SEED,
    alone,
    cases,
    corpus_text,
    misreads,
    noise,
    noisy,
    unheaded,
)
from hypothesis import given
from hypothesis import strategies as st

from httpconflict.tools.diagnose.matching import diagnose
from httpconflict.tools.diagnose.places import Places
from httpconflict.tools.diagnose.records import starts_a_record

#: Pieces of log before and after a message (the bench pastes 12). The piece next to it,
#: the one that may lend it a detail, is any of them either way; before a message's details
#: were read from its own records, 6 pieces misread 446 details in 257 of the 267 cases read
#: here, and 12 pieces 460 in 263.
PIECES: Final = 6


def test_every_case_reads_the_same_in_a_noisy_log() -> None:
    """Every other recognised corpus case, between 6 pieces of log before and 6 after naming
    other URLs, statuses, tables and objects, gets the entry and the details it gets alone
    (none from the noise)."""
    rng = random.Random(SEED)
    wrong = [miss for name in list(cases())[::2] for miss in misreads(name, rng, PIECES)]
    assert wrong == []


def test_another_request_s_url_and_status_are_not_the_error_s() -> None:
    """A 404 of another request just before a unique violation is not its status or URL."""
    before = (
        "2026-12-03 10:14:01,100 ERROR [sync] refresh failed\n"
        "requests.exceptions.HTTPError: 404 Client Error: Not Found for url: "
        "https://billing.internal/v1/invoices/991\n"
    )
    best = diagnose(before + HEADER + corpus_text("psycopg2-unique.txt")).best
    assert best is not None
    assert best.entry.id == "postgresql-unique-violation"
    assert "status" not in best.details
    assert "url" not in best.details


def test_the_error_s_own_url_and_status_are_read_among_others() -> None:
    """An axios 409 among other requests' lines keeps its own URL and status."""
    rng = random.Random(SEED)
    text = noise(12, rng) + HEADER + corpus_text("axios-409.txt") + noise(12, rng)
    best = diagnose(text).best
    assert best is not None
    assert best.details["url"] == "https://api.example.com/teams"
    assert best.details["status"] == "409"


def test_a_generic_answer_is_not_ruled_out_by_another_request_s_404() -> None:
    """A write conflict in words is still one when a health check of the log was a 404."""
    access = '10.0.0.9 - - [03/Dec/2026:10:14:03 +0000] "GET /api/v1/orders/77 HTTP/1.1" 404 52\n'
    message = "2026-12-03 10:14:06,512 ERROR [db] WriteConflict: retry the transaction\n"
    best = diagnose(access + message + access).best
    assert best is not None
    assert best.entry.id == "generic-concurrent-change"
    alone = diagnose("HTTP/1.1 404 Not Found\n\nWriteConflict: retry the transaction\n")
    assert alone.best is None


def _relayed(text: str) -> str:
    """`text` as a GitHub Actions log shows it: a timestamp on every line."""
    return "".join(
        f"2026-12-03T10:14:{n % 60:02d}.{n:07d}Z {line}\n"
        for n, line in enumerate(text.split("\n"))
    )


def test_a_ci_runner_s_timestamps_change_nothing() -> None:
    """Every fourth recognised case, alone and in a noisy log, with a CI runner's timestamp on
    every line, gets the entry and details it gets as pasted (46 details were lost alone)."""
    rng = random.Random(SEED)
    wrong = []
    for name in list(cases())[::4]:
        message, truth = corpus_text(name), alone(name)
        assert truth is not None
        for text in (_relayed(message), _relayed(noisy(message, rng, PIECES))):
            best = diagnose(text).best
            assert best is not None, name
            if (best.entry.id, best.details) != (truth.entry.id, truth.details):
                wrong.append(
                    (name, truth.entry.id, dict(truth.details), best.entry.id, dict(best.details))
                )
    assert wrong == []


#: What a relay puts before every line of one program's output: journald's time, host and
#: program; a container runtime's log file (timestamp, stream, whole line); `kubectl logs
#: --prefix`.
PER_LINE: Final = (
    pytest.param("Dec 05 18:40:{n:02d} web-1 app[4242]: ", id="journald"),
    pytest.param("2026-12-05T18:40:{n:02d}.123456789Z stderr F ", id="cri"),
    pytest.param("2026-12-05T18:40:{n:02d}.123456789+00:00 stdout F ", id="cri-offset"),
    pytest.param("[pod/api-7d9f8-abcde/api] ", id="kubectl-prefix"),
)


@pytest.mark.parametrize("prefix", PER_LINE)
def test_a_relay_s_prefix_on_every_line_changes_nothing(prefix: str) -> None:
    """Every third recognised case with a relay's prefix on each of its lines gets the entry
    it gets as pasted: a message over lines is one program's record, not one per line (with
    journald's, a Terraform 409 on its second line, SQL Server's key over three lines and a
    MongoDB write conflict were read otherwise)."""
    wrong = []
    for name in list(cases())[::3]:
        message, truth = corpus_text(name), alone(name)
        assert truth is not None
        text = "".join(
            prefix.format(n=n % 60) + line + "\n"
            for n, line in enumerate(message.rstrip("\n").split("\n"))
        )
        best = diagnose(text).best
        if best is None or best.entry.id != truth.entry.id:
            wrong.append((name, truth.entry.id, best and best.entry.id))
    assert wrong == []


def test_one_line_of_a_program_keeps_its_prefix() -> None:
    """A journald line between other programs' lines is a record of its own: its prefix is
    not taken off, so the record before it does not lend it anything."""
    text = (
        "Dec 05 18:40:01 web-1 nginx[77]: GET /health 200\n"
        "Dec 05 18:40:02 web-1 app[4242]: pq: duplicate key value violates unique constraint"
        ' "users_email_key"\n'
        "Dec 05 18:40:03 web-1 cron[9]: job done\n"
    )
    best = diagnose(text).best
    assert best is not None
    assert best.entry.id == "postgresql-unique-violation"
    assert best.details["constraint"] == "users_email_key"


@given(st.text(alphabet="ab\n", max_size=40))
def test_places_count_lines_as_the_text_does(text: str) -> None:
    """A place's line is the newlines before it; a line's text is the text split at newlines."""
    places = Places(text)
    assert [places.line(at) for at in range(len(text) + 1)] == [
        text.count("\n", 0, at) for at in range(len(text) + 1)
    ]
    assert [places.text_of(n) for n in range(places.lines)] == text.split("\n")


@pytest.mark.parametrize(
    ("line", "before", "starts"),
    [
        pytest.param(
            "2026-12-03 10:14:05 UTC [311] ERROR:  duplicate key", "", True, id="pg-error"
        ),
        pytest.param(
            "2026-12-03 10:14:05 UTC [311] DETAIL:  Key (id)=(1)", "", False, id="pg-detail"
        ),
        pytest.param(
            '10.0.0.9 - - [03/Dec/2026:10:14:03 +0000] "GET / HTTP/1.1" 404',
            "",
            True,
            id="access-log",
        ),
        pytest.param("I1203 10:14:07.004       1 controller.go:120] x", "", True, id="klog"),
        pytest.param('Oct 30 12:07:33 host app[14]:     "error": {', "", False, id="journald-body"),
        pytest.param('{"level":"error","msg":"x"}', "", True, id="json-log-line"),
        pytest.param('{"message": "conflict"}', "", False, id="json-body"),
        pytest.param("$ curl -i https://a.test/x", "", True, id="prompt"),
        pytest.param("Traceback (most recent call last):", "", True, id="traceback"),
        pytest.param(
            "Traceback (most recent call last):",
            "During handling of the above exception, another exception occurred:",
            False,
            id="chained-traceback",
        ),
        pytest.param("duplicate key value violates unique constraint", "", False, id="no-prefix"),
        pytest.param("AxiosError: Request failed with status code 502", "}", True, id="headline"),
        pytest.param(
            "psycopg2.errors.UniqueViolation: duplicate key",
            "    cursor.execute(sql)",
            False,
            id="python-traceback-end",
        ),
        pytest.param(
            "HTTPError: 409 Client Error: Conflict for url: https://a.test/",
            "$ twine upload dist/*",
            False,
            id="headline-under-command",
        ),
        pytest.param(
            "2026-12-03 10:14:08,311 INFO [x]    at Foo.bar(Foo.java:1)", "", True, id="level-word"
        ),
        pytest.param("Error: conflict", '{"level":"error","msg":"x"}', True, id="after-json-line"),
        pytest.param(
            "Error: conflict",
            '10.0.0.9 - - [03/Dec/2026:10:14:03 +0000] "GET / HTTP/1.1" 404 52',
            True,
            id="after-access-log-line",
        ),
        pytest.param("Error: conflict", "}", True, id="after-closed-object"),
        pytest.param(" PATCH https://a.test/x Status: 422", "}", False, id="indented-under-object"),
        pytest.param("    at f (x.js:1:2)", "}", False, id="frame-under-object"),
        pytest.param("Run deploy", "requests.HTTPError: 404", True, id="after-traceback-end"),
        pytest.param(
            "DETAIL:  Key (id)=(1)", "psycopg2.errors.UniqueViolation: x", False, id="detail"
        ),
        pytest.param(
            "sqlite3.IntegrityError: x", "requests.HTTPError: 404", True, id="two-headlines"
        ),
        pytest.param("AxiosError: x", "    at f (x.js:1:2)", True, id="headline-after-frame"),
        pytest.param(
            "AxiosError: x", '{"level":"error","msg":"x"}', True, id="headline-after-json"
        ),
    ],
)
def test_which_lines_start_a_log_record(line: str, before: str, starts: bool) -> None:
    """A log's prefix, a traceback or an exception's headline starts a record, and so does any
    unindented line after a whole record (a JSON or access log line, a closed object, the
    exception ending a Python traceback); a server's DETAIL line, an indented or unprefixed
    line, a chained traceback, a JSON body, the exception that ends a Python traceback and one
    under a log line or a command continue one."""
    # The line above `before`: a traceback's indented source line.
    above = "    raise HTTPError(msg)" if before.startswith(("requests.", "psycopg2.")) else ""
    assert starts_a_record(line, before, above) is starts


#: Messages whose first line has no log prefix, and pieces of log that end a record.
_BARE_MESSAGES: Final = (
    "action-gh-release-exists.txt",
    "amqplib-node-x-queue-type.txt",
    "azure-dotnet-lease-id-missing.txt",
    "confluence-version-must-be-incremented.txt",
    "sqlite3-minidb-unique.txt",
)


@pytest.mark.parametrize(
    "piece", [0, 1, 2, 3, 4], ids=["access", "traceback", "curl", "node", "json"]
)
def test_messages_pasted_back_to_back_keep_their_own_details(piece: int) -> None:
    """A message pasted right after another, with no log line between them, is read with its
    own details: not the URL or status of the request before it (246 details were misread in
    that shape over the corpus, 50 now)."""
    before = unheaded(NOISE[piece])
    wrong = []
    for name in _BARE_MESSAGES:
        truth, pasted = alone(name), diagnose(before + corpus_text(name)).best
        assert truth is not None, name
        assert pasted is not None, name
        if (pasted.entry.id, dict(pasted.details)) != (truth.entry.id, dict(truth.details)):
            wrong.append((name, dict(truth.details), dict(pasted.details)))
    assert wrong == []
