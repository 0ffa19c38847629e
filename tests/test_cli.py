"""The `httpconflict` command line."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from httpconflict.cli import main
from tests.command_line import httpconflict
from tests.servers import start_service


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return httpconflict(*args)


def test_help_lists_serve() -> None:
    """--help names the serve command and its options."""
    out = run("serve", "--help")
    assert out.returncode == 0
    for option in ("--db", "--host", "--port", "--workers", "--log-format", "--blind-writes"):
        assert option in out.stdout


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    """--version prints the installed version."""
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith("httpconflict ")


def test_unreachable_database_fails_fast() -> None:
    """A --db nobody answers at fails at once with one clear line, exit status 1."""
    out = run("serve", "--db", "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2")
    assert out.returncode == 1
    assert out.stderr.startswith("httpconflict serve: ")
    assert "Traceback" not in out.stderr


def test_unknown_database_scheme(tmp_path: Path) -> None:
    """An unsupported URL scheme is named in the error, a usage error."""
    out = run("serve", "--db", "mysql://root@127.0.0.1/test")
    assert out.returncode == 2
    assert "unsupported database URL scheme 'mysql'" in out.stderr


def test_bad_settings_are_refused() -> None:
    """Nonsense settings are refused before anything starts, as usage errors."""
    out = run("serve", "--history", "0")
    assert out.returncode == 2
    assert "argument --history: must be at least 1, not 0" in out.stderr


@pytest.mark.parametrize(
    ("value", "advice"),
    [
        pytest.param(":memory:", "a SQLite file path or a postgresql://", id="memory-db"),
        pytest.param("sqlite:///:memory:", "a SQLite file path", id="memory-db-url"),
    ],
)
def test_process_local_database_with_workers_is_refused(
    tmp_path: Path, value: str, advice: str
) -> None:
    """A database inside each worker is refused with 2 workers, in one line naming what to use."""
    out = run("serve", "--db", value, "--workers", "2", "--port", "1")
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1
    assert out.stderr.startswith("httpconflict serve: error: ")
    assert advice in out.stderr


@pytest.mark.parametrize("value", ["memory", ":memory:"])
def test_a_replay_cache_inside_each_worker_is_no_reason_to_refuse(
    tmp_path: Path, value: str
) -> None:
    """Keys are recorded in the documents' database: a cache per worker is only a cache."""
    db = ("--db", str(tmp_path / "service.db"))
    with socket.socket() as taken:  # held, so that the start stops there
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        out = run("serve", *db, "--idempotency", value, "--workers", "2", "--port", port)
    assert "error:" not in out.stderr
    assert f"cannot listen on 127.0.0.1 port {port}" in out.stderr  # past the settings' checks


def test_process_local_store_with_one_worker_serves(tmp_path: Path) -> None:
    """One worker may keep its keys in memory: the service starts and honours them."""
    extra = ("--idempotency", "memory")
    with (
        start_service(str(tmp_path / "one.db"), tmp_path, extra=extra) as service,
        service.client() as http,
    ):
        first = http.post("/v1/notes", json={"n": 1}, headers={"Idempotency-Key": "k"})
        again = http.post("/v1/notes", json={"n": 1}, headers={"Idempotency-Key": "k"})
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Location"] == first.headers["Location"]


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        pytest.param("--max-header-bytes", "0", "must be at least 1", id="header-bytes"),
        pytest.param("--header-timeout", "0", "must be more than 0", id="header-timeout"),
        pytest.param("--body-timeout", "-1", "must be more than 0", id="body-timeout"),
        pytest.param("--max-connections", "0", "must be at least 1", id="connections"),
        pytest.param("--keep-alive", "0", "must be at least 1", id="keep-alive"),
    ],
)
def test_bad_connection_limits_are_refused(option: str, value: str, message: str) -> None:
    """A connection limit of zero (or a negative time) is refused before anything starts."""
    out = run("serve", f"{option}={value}")
    assert out.returncode == 2
    assert f"argument {option}: {message}" in out.stderr


def test_serve_raises_a_low_open_file_limit_for_its_connections() -> None:
    """Below what --max-connections needs, the soft open-file limit is raised (to the hard one)."""
    code = (
        "import resource\n"
        "from httpconflict.cli import _allow_open_files\n"
        "soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))\n"
        "_allow_open_files(1100)\n"
        "print(resource.getrlimit(resource.RLIMIT_NOFILE)[0], hard)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    soft, hard = (int(n) for n in out.stdout.split())
    assert soft == (1100 if hard == -1 else min(1100, hard))


@pytest.mark.parametrize("json_output", [True, False], ids=["json", "terminal"])
@pytest.mark.parametrize("command", ["logs", "diagnose"])
def test_a_reader_that_stops_early_gets_no_traceback(
    command: str, json_output: bool, tmp_path: Path
) -> None:
    """``httpconflict logs --json LOG | head -1``, the reader gone before the tool writes (or
    between its writes): the tool stops quietly (exit 3: its output was cut), with no
    BrokenPipeError traceback."""
    log = tmp_path / "access.log"
    log.write_text(
        "".join(
            f"10.0.{n % 250}.{n % 200} - - [03/Dec/2026:10:{n % 60:02d}:00 +0000] "
            f'"PUT /v1/c{n}/x HTTP/1.1" 409 10 "-" "curl/{n}"\n'
            for n in range(3000)
        )
    )
    # The terminal report goes through rich, whose own answer to a reader gone was exit 1
    # (which the tools give to findings).
    options = ["--json"] if json_output else []
    command_line = [sys.executable, "-m", "httpconflict.cli", command, *options, str(log)]
    with subprocess.Popen(command_line, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as tool:
        assert tool.stdout is not None
        assert tool.stderr is not None
        tool.stdout.close()  # the reader is gone: any write of the tool's fails (EPIPE)
        errors = tool.stderr.read().decode()
        code = tool.wait(timeout=60)
    assert "Traceback" not in errors, errors
    assert "Exception ignored" not in errors, errors
    assert code == 3


@pytest.mark.parametrize("command", ["logs", "diagnose"])
def test_a_full_disk_is_one_line_and_exit_3(command: str) -> None:
    """The report written to a full disk (/dev/full): one line saying so, exit 3, no traceback."""
    corpus = Path(__file__).parent / "diagnose" / "corpus" / "psycopg2-unique.txt"
    log = Path(__file__).parent / "logs"
    target = corpus if command == "diagnose" else log / "samples" / "heroku.log"
    with open("/dev/full", "w") as full:
        out = subprocess.run(
            [sys.executable, "-m", "httpconflict.cli", command, str(target)],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
    assert out.returncode == 3, out.stderr
    assert out.stderr.strip().endswith("cannot write: No space left on device"), out.stderr
    assert "Traceback" not in out.stderr


def test_help_says_keys_are_honoured_on_every_write() -> None:
    """The key options' heading names every write the service keys, not POST alone.

    Every PUT, PATCH and DELETE records its answer under its Idempotency-Key
    too (service.md, idempotency.md); a heading naming only POST told a user
    their PUTs were not covered.
    """
    out = run("serve", "--help")
    heading = next(line for line in out.stdout.splitlines() if line.startswith("idempotency keys"))
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        assert method in heading


def test_help_writes_retention_defaults_as_service_md_does() -> None:
    """Defaults in seconds are whole numbers in --help, as in service.md's table.

    `{:g}` wrote the tombstones' 30 days as 2.592e+06, a number no user types.
    """
    out = " ".join(run("serve", "--help").stdout.split())
    assert "(default: 2592000, 30 days)" in out
    assert "e+0" not in out
