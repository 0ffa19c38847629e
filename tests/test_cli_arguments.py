"""Every argument of every command, given a bad value: exit 2 and one clear line, no traceback.

Each case runs the command line's ``main`` in its own process, in an
empty directory (so a refused value can be seen to have created nothing
there): processes forked from one that imported the CLI once
(tests/forked_cli.py), a few at a time, once per module; each case checks
its own answer. ``python -m httpconflict.cli`` itself runs in the last test
here and throughout tests/test_cli.py.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.command_line import httpconflict, python

#: A stand-in for a file that exists, and one for a directory that does not.
FILE = "/etc/hostname"
DIRECTORY = "/etc"
NOWHERE = "/nonexistent/dir"


@dataclass(frozen=True)
class Case:
    args: tuple[str, ...]
    #: What stderr must say (its last line, for argparse's own errors).
    says: str
    status: int = 2


def case(says: str, *args: str, status: int = 2, id: str) -> object:
    return pytest.param(Case(args, says, status), id=id)


SERVE = [
    case("--host: not a host name or address: ''", "serve", "--host", "", id="host-empty"),
    case(
        "--host: not a host name or address: 'bad host'",
        "serve",
        "--host",
        "bad host",
        id="host-space",
    ),
    case("'a/b' is not a host pattern", "serve", "--host", "a/b", id="host-slash"),
    case("--port: must be from 1 to 65535, not 99999", "serve", "--port", "99999", id="port-high"),
    case("--port: must be from 1 to 65535, not -1", "serve", "--port", "-1", id="port-negative"),
    case("--port: not a whole number: 'http'", "serve", "--port", "http", id="port-word"),
    case("--workers: must be from 1 to 1024, not 0", "serve", "--workers", "0", id="workers-0"),
    case("--history: must be at least 1, not 0", "serve", "--history", "0", id="history-0"),
    case(
        "--sqlite-busy-timeout: must be more than 0, not nan",
        "serve",
        "--sqlite-busy-timeout",
        "nan",
        id="busy-timeout-nan",
    ),
    case("--max-body: must be at least 1, not 0", "serve", "--max-body", "0", id="max-body-0"),
    case("--log-format: invalid choice: 'xml'", "serve", "--log-format", "xml", id="log-format"),
    case(
        "--max-header-bytes: must be at least 1, not 0",
        "serve",
        "--max-header-bytes",
        "0",
        id="header-bytes-0",
    ),
    case(
        "--header-timeout: must be more than 0, not inf",
        "serve",
        "--header-timeout",
        "inf",
        id="header-timeout-inf",
    ),
    case(
        "--body-timeout: must be more than 0, not -1",
        "serve",
        "--body-timeout",
        "-1",
        id="body-timeout-negative",
    ),
    case(
        "--max-connections: must be at least 1, not 0",
        "serve",
        "--max-connections",
        "0",
        id="connections-0",
    ),
    case(
        "--idempotency 'bogus' is not a key store",
        "serve",
        "--idempotency",
        "bogus",
        id="idempotency-word",
    ),
    case(
        "--idempotency redis://127.0.0.1:port/0: Port could not be cast",
        "serve",
        "--idempotency",
        "redis://127.0.0.1:port/0",
        id="idempotency-bad-port",
    ),
    case(
        f"--idempotency {NOWHERE}/keys.db: there is no directory",
        "serve",
        "--idempotency",
        f"{NOWHERE}/keys.db",
        id="idempotency-no-directory",
    ),
    case(
        "--idempotency-lease: must be more than 0, not 0",
        "serve",
        "--idempotency-lease",
        "0",
        id="lease-0",
    ),
    case(
        "--idempotency-wait: must be at least 0, not -1",
        "serve",
        "--idempotency-wait",
        "-1",
        id="wait-negative",
    ),
    case(
        "--idempotency-retention: must be more than 0, not -inf",
        "serve",
        "--idempotency-retention=-inf",
        id="retention-infinite",
    ),
    case(
        "--purge-interval: must be at least 0, not -1",
        "serve",
        "--purge-interval",
        "-1",
        id="purge-negative",
    ),
    case(
        "--tombstone-retention: not a number of seconds: 'week'",
        "serve",
        "--tombstone-retention",
        "week",
        id="tombstones-word",
    ),
    case("--grant needs --auth", "serve", "--grant", "read=authenticated", id="grant-no-auth"),
    case("grant", "serve", "--auth", "tokens", "--grant", "everything", id="grant-bad"),
    case("--auth: invalid choice: 'basic'", "serve", "--auth", "basic", id="auth-method"),
    case(
        "--auth jwt needs exactly one of --jwt-secret and --jwt-jwks",
        "serve",
        "--auth",
        "jwt",
        id="jwt-no-key",
    ),
    case(
        "--jwt-jwks /nonexistent/keys.json: no such file",
        "serve",
        "--auth",
        "jwt",
        "--jwt-jwks",
        "/nonexistent/keys.json",
        id="jwks-missing",
    ),
    case(
        "--jwt-jwks http://keys.example/jwks.json: a JWKS URL must be https://",
        "serve",
        "--auth",
        "jwt",
        "--jwt-jwks",
        "http://keys.example/jwks.json",
        id="jwks-plain-http",
    ),
    case(
        "--jwt-jwks /etc/hostname: the JWKS file /etc/hostname is not a JWK set",
        "serve",
        "--auth",
        "jwt",
        "--jwt-jwks",
        "/etc/hostname",
        id="jwks-not-json",
    ),
    case(
        "--jwt-roles-claim: must be printable text without spaces, not ''",
        "serve",
        "--jwt-roles-claim",
        "",
        id="roles-claim-empty",
    ),
    case(
        "--jwt-principal-claim: must be printable text without spaces",
        "serve",
        "--jwt-principal-claim",
        "my sub",
        id="principal-claim-space",
    ),
    case(
        "--jwt-leeway: must be at least 0, not -5",
        "serve",
        "--jwt-leeway",
        "-5",
        id="leeway-negative",
    ),
    case(
        "'http://api.example.com/'",
        "serve",
        "--allowed-host",
        "http://api.example.com/",
        id="allowed-host-url",
    ),
    case(
        "'app.example.com' is not an origin",
        "serve",
        "--cors-origin",
        "app.example.com",
        id="cors-origin-no-scheme",
    ),
    case("--allow-unauthenticated", "serve", "--host", "0.0.0.0", id="exposed-host"),  # noqa: S104
    case(
        "--db /etc is a directory: give a SQLite file's path",
        "serve",
        "--db",
        DIRECTORY,
        id="db-directory",
    ),
    case(
        f"--db {NOWHERE}/x.db: there is no directory '{NOWHERE}'",
        "serve",
        "--db",
        f"{NOWHERE}/x.db",
        id="db-no-directory",
    ),
    case(
        f"--db {FILE}/x.db: there is no directory '{FILE}'",
        "serve",
        "--db",
        f"{FILE}/x.db",
        id="db-under-a-file",
    ),
    case(
        "unsupported database URL scheme 'mysql'",
        "serve",
        "--db",
        "mysql://root@h/test",
        id="db-scheme",
    ),
    case(
        "--db postgresql://u:***@h:port/db: Port could not be cast",
        "serve",
        "--db",
        "postgresql://u:secret@h:port/db",
        id="db-bad-port-password-masked",
    ),
    case(
        "--db ':memory:' is a database inside each worker process",
        "serve",
        "--db",
        ":memory:",
        "--workers",
        "2",
        id="db-memory-workers",
    ),
    case("unrecognized arguments: --colour", "serve", "--colour", id="serve-unknown-option"),
]

TOKEN = [
    case(
        "name: must be printable text without spaces, not 'a b'",
        "token",
        "create",
        "a b",
        id="token-name-space",
    ),
    case(
        "name: token:<name> is too long: a principal id holds at most 255 characters",
        "token",
        "create",
        "n" * 250,
        id="token-name-too-long",
    ),
    case(
        "--role: must be printable text without spaces, not ''",
        "token",
        "create",
        "ci",
        "--role",
        "",
        id="token-role-empty",
    ),
    case("--db: /etc is a directory", "token", "list", "--db", DIRECTORY, id="token-db-directory"),
    case("name: must be printable text without spaces", "token", "revoke", "", id="revoke-empty"),
    case("the following arguments are required: ACTION", "token", id="token-no-action"),
]

DIAGNOSE = [
    case(
        f"--html: cannot write {NOWHERE}/p.html: there is no directory",
        "diagnose",
        "--html",
        f"{NOWHERE}/p.html",
        FILE,
        id="diagnose-html-nowhere",
    ),
    case(
        "--html: /etc is a directory, not a file",
        "diagnose",
        "--html",
        DIRECTORY,
        FILE,
        id="diagnose-html-directory",
    ),
    case(
        "cannot read /nonexistent/error.txt",
        "diagnose",
        "/nonexistent/error.txt",
        status=3,
        id="diagnose-input-missing",
    ),
]

AUDIT = [
    case(
        "URL must start with http:// or https://, not 'notes'",
        "audit",
        "notes",
        id="audit-not-a-url",
    ),
    case("URL names no host", "audit", "http:///v1/notes", id="audit-no-host"),
    case("is not a URL: Port out of range", "audit", "http://127.0.0.1:99999/v1", id="audit-port"),
    case(
        "--max-requests: must be from 30 to 100000, not 5",
        "audit",
        "http://h/v1",
        "--max-requests",
        "5",
        id="audit-max-requests",
    ),
    case(
        "--timeout: must be more than 0, not nan",
        "audit",
        "http://h/v1",
        "--timeout",
        "nan",
        id="audit-timeout-nan",
    ),
    case(
        "--request-timeout: must be more than 0 and at most 3600",
        "audit",
        "http://h/v1",
        "--request-timeout",
        "7200",
        id="audit-request-timeout",
    ),
    case(
        "--writers: must be from 2 to 64, not 100",
        "audit",
        "http://h/v1",
        "--writers",
        "100",
        id="audit-writers",
    ),
    case(
        "--rounds: must be from 1 to 100, not 0",
        "audit",
        "http://h/v1",
        "--rounds",
        "0",
        id="audit-rounds",
    ),
    case(
        "--duplicates: not a whole number",
        "audit",
        "http://h/v1",
        "--duplicates",
        "2.5",
        id="audit-duplicates",
    ),
    case(
        "the body template is not JSON",
        "audit",
        "http://h/v1",
        "--body",
        "{bad",
        id="audit-body-json",
    ),
    case(
        "cannot read the body template",
        "audit",
        "http://h/v1",
        "--body",
        "@/nonexistent.json",
        id="audit-body-file",
    ),
    case(
        "a header is 'Name: value', not 'bad'",
        "audit",
        "http://h/v1",
        "--header",
        "bad",
        id="audit-header",
    ),
    case(
        "--id-field names no field", "audit", "http://h/v1", "--id-field", "", id="audit-id-field"
    ),
    case("--counter names no field", "audit", "http://h/v1", "--counter", "", id="audit-counter"),
    case("--unique names no field", "audit", "http://h/v1", "--unique", "", id="audit-unique"),
    case(
        "--write-method: invalid choice: 'DELETE'",
        "audit",
        "http://h/v1",
        "--write-method",
        "DELETE",
        id="audit-write-method",
    ),
    case(
        f"--html: cannot write {NOWHERE}/a.html",
        "audit",
        "http://h/v1",
        "--html",
        f"{NOWHERE}/a.html",
        id="audit-html",
    ),
]

ROUTES = [
    case(
        "--app-dir: no such directory: /nonexistent",
        "routes",
        "app:app",
        "--app-dir",
        "/nonexistent",
        id="routes-app-dir",
    ),
    case("is not MODULE:APP", "routes", "not a module:app", id="routes-target"),
    case(
        "cannot import 'no_such_module'",
        "routes",
        "no_such_module:app",
        status=3,
        id="routes-module-missing",
    ),
]

LOGS = [
    case("the following arguments are required: FILE", "logs", id="logs-no-file"),
    case("--format: invalid choice: 'xml'", "logs", FILE, "--format", "xml", id="logs-format"),
    case("--bucket", "logs", FILE, "--bucket", "7q", id="logs-bucket"),
    case("--top: must be at least 1, not 0", "logs", FILE, "--top", "0", id="logs-top"),
    case(
        "--spike-factor: must be more than 0: nan",
        "logs",
        FILE,
        "--spike-factor",
        "nan",
        id="logs-spike-factor",
    ),
    case(
        "--spike-min: must be at least 1, not -2",
        "logs",
        FILE,
        "--spike-min",
        "-2",
        id="logs-spike-min",
    ),
    case(
        f"--svg: cannot write {NOWHERE}/c.svg",
        "logs",
        FILE,
        "--svg",
        f"{NOWHERE}/c.svg",
        id="logs-svg",
    ),
    case(
        "--html: /etc is a directory, not a file", "logs", FILE, "--html", DIRECTORY, id="logs-html"
    ),
    case("use --svg FILE", "logs", FILE, "--png", "c.png", id="logs-png-gone"),
    case(
        "cannot read /nonexistent.log",
        "logs",
        "/nonexistent.log",
        status=3,
        id="logs-input-missing",
    ),
]

TOP = [
    case("the following arguments are required: COMMAND", id="no-command"),
    case("invalid choice: 'srve'", "srve", id="unknown-command"),
]

CASES = [*SERVE, *TOKEN, *DIAGNOSE, *AUDIT, *ROUTES, *LOGS, *TOP]


@dataclass(frozen=True)
class Answer:
    status: int
    stdout: str
    stderr: str
    #: What the working directory held afterwards.
    files: tuple[str, ...]


@pytest.fixture(scope="module")
def answers(tmp_path_factory: pytest.TempPathFactory) -> dict[Case, Answer]:
    """Every case's answer, each from a process of its own, in an empty directory of its own."""
    root = tmp_path_factory.mktemp("cli")
    cases: list[Case] = [p.values[0] for p in CASES]  # type: ignore[attr-defined]  # pytest.param
    workdirs = [root / str(i) for i in range(len(cases))]
    for workdir in workdirs:
        workdir.mkdir()
    request = [{"args": c.args, "cwd": str(w)} for c, w in zip(cases, workdirs, strict=True)]
    done = python("-m", "tests.forked_cli", stdin=json.dumps(request))
    assert done.returncode == 0, done.stderr
    found = [
        Answer(a["status"], a["stdout"], a["stderr"], tuple(os.listdir(w)))
        for a, w in zip(json.loads(done.stdout), workdirs, strict=True)
    ]
    return dict(zip(cases, found, strict=True))


@pytest.mark.parametrize("case", CASES)
def test_a_bad_argument_is_one_clear_line(case: Case, answers: dict[Case, Answer]) -> None:
    """The value is refused with the documented status, the message naming it, no traceback."""
    answer = answers[case]
    assert "Traceback" not in answer.stderr
    assert case.says in answer.stderr, answer.stderr
    assert answer.status == case.status, answer.stderr
    assert answer.files == ()  # nothing made: no database, no key file named "bogus"
    if case.status == 2:
        assert answer.stdout == ""
        assert answer.stderr.strip().splitlines()[-1].startswith("httpconflict")


def test_a_port_in_use_is_named(tmp_path: Path) -> None:
    """A port another process holds: exit 1 naming the port, before any worker starts."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        done = httpconflict("serve", "--port", port, cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr == f"httpconflict serve: cannot listen on 127.0.0.1 port {port}: " + (
        "Address already in use\n"
    )
