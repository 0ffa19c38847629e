"""`httpconflict serve` refuses to serve other machines unauthenticated, and prints no password."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import httpx
import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from httpconflict.cli import main
from tests.pg_proxy import pg_proxy
from tests.servers import free_port, start_service

#: Listening on every IPv4 address (what S104 warns of: the case under test).
EVERY_ADDRESS = "0.0.0.0"  # noqa: S104
JSON = {"content-type": "application/json"}
PASSWORD = "s3cret-Pw_" + uuid.uuid4().hex[:8]


#: `httpconflict serve ARGS...` run to its end: its status, stdout and stderr.
Serve = Callable[..., "subprocess.CompletedProcess[str]"]


@pytest.fixture
def serve(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Serve:
    """Run `httpconflict serve` expecting it to stop by itself: in this process.

    Each case here refuses before it opens a port or starts a worker, so the
    command's own `main` says all a process would (its status, what it printed),
    without a Python start for each; tests/test_cli_arguments.py runs such
    refusals as real processes. A start that was not refused fails at once
    instead of serving.
    """
    uvicorn = pytest.importorskip("uvicorn")

    def serving(*_: object, **__: object) -> NoReturn:
        raise AssertionError("the start was not refused: it went on to serve")

    monkeypatch.setattr(uvicorn, "run", serving)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        capsys.readouterr()
        try:
            status = main(["serve", *args])
        except SystemExit as exit_:  # argparse's own refusals
            status = exit_.code if isinstance(exit_.code, int) else 1
        out = capsys.readouterr()
        return subprocess.CompletedProcess(args, status, out.out, out.err)

    return run


@pytest.mark.parametrize("host", [EVERY_ADDRESS, "::", "192.0.2.1", "box.example"])
def test_a_non_loopback_start_without_authentication_is_refused(
    tmp_path: Path, host: str, serve: Serve
) -> None:
    """Exit 2 with one line saying how, before any port is opened or database made."""
    port = free_port()
    out = serve("--db", str(tmp_path / "open.db"), "--host", host, "--port", str(port))
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert "--auth" in lines[0]
    assert "--allow-unauthenticated" in lines[0]
    assert not (tmp_path / "open.db").exists()
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)


def test_the_loud_flag_serves_every_address(tmp_path: Path) -> None:
    """--allow-unauthenticated on 0.0.0.0 serves; loopback names are still the allowed hosts."""
    extra = ("--host", EVERY_ADDRESS, "--allow-unauthenticated")
    with (
        start_service(str(tmp_path / "open.db"), tmp_path, extra=extra) as service,
        service.client() as http,
    ):
        assert http.get("/healthz").status_code == 200
        assert http.get("/healthz", headers={"Host": "evil.example"}).status_code == 421


def test_a_non_loopback_start_with_authentication_serves_no_anonymous_caller(
    tmp_path: Path,
) -> None:
    """--auth tokens on every address starts, and an anonymous read gets 401, not the document."""
    extra = ("--host", EVERY_ADDRESS, "--auth", "tokens")
    with (
        start_service(str(tmp_path / "auth.db"), tmp_path, extra=extra) as service,
        service.client() as http,
    ):
        assert http.get("/healthz").status_code == 200
        assert http.get("/v1/notes/a").status_code == 401
        assert http.put("/v1/notes/a", content=b"{}", headers=JSON).status_code == 401


@pytest.mark.parametrize(
    ("flag", "value"),
    [("--allowed-host", "http://api.example.com/"), ("--cors-origin", "app.example.com")],
)
def test_a_mistyped_host_or_origin_stops_the_start(
    tmp_path: Path, flag: str, value: str, serve: Serve
) -> None:
    """One line naming the value, exit 2 (a usage error)."""
    out = serve("--db", str(tmp_path / "x.db"), "--port", str(free_port()), flag, value)
    assert out.returncode == 2
    assert value in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def with_password(url: str, password: str) -> str:
    """`url` (postgresql://user@host/...) logging in with `password` as well."""
    user, at, rest = url.partition("://")[2].partition("@")
    assert at, url
    return f"postgresql://{user}:{password}@{rest}"


@pytest.mark.postgres
def test_no_database_password_reaches_the_console(postgres_schema: str, tmp_path: Path) -> None:
    """Start-up line and 504 incidents: the password appears in neither."""
    with pg_proxy(with_password(postgres_schema, PASSWORD)) as proxy:
        url = proxy.url(with_password(postgres_schema, PASSWORD))
        assert PASSWORD in url
        with (
            start_service(url, tmp_path, allowed_5xx=frozenset({503, 504})) as service,
            service.client() as http,
        ):
            created = http.put(
                "/v1/c/a", content=b'{"n": 0}', headers={**JSON, "If-None-Match": "*"}
            )
            assert created.status_code == 201
            proxy.cut_answer_to(b"WITH written AS (UPDATE documents")
            lost = http.put(
                "/v1/c/a",
                content=b'{"n": 1}',
                headers={**JSON, "If-Match": created.headers["etag"]},
            )
            assert lost.status_code == 504
            incident = lost.json()["incident"]
            service.wait_for_log(lambda r: r["status"] == 504)
        console = service.log_path.read_text()
    assert "postgresql://postgres:***@" in console  # the start-up line
    assert f"incident {incident}" in console
    assert PASSWORD not in console


def _libpq_refuses_spaces() -> bool:
    try:
        conninfo_to_dict("postgresql://postgres:with space@127.0.0.1/test")
    except psycopg.ProgrammingError:
        return True
    return False


@pytest.mark.postgres
@pytest.mark.skipif(
    not _libpq_refuses_spaces(),
    reason="this libpq takes spaces in a URL (libpq 16 and 17 do): no failed start",
)
def test_no_database_password_reaches_a_failed_start(postgres_schema: str, serve: Serve) -> None:
    """A start that fails on the URL prints it masked."""
    # libpq refuses spaces in a URL, and psycopg's message quotes the password.
    spaced = with_password(postgres_schema, "with space " + PASSWORD)
    out = serve("--db", spaced, "--port", str(free_port()))
    assert out.returncode == 1
    assert "***" in out.stderr
    assert PASSWORD not in out.stdout + out.stderr


def test_no_redis_password_reaches_the_console(redis_server: str, tmp_path: Path) -> None:
    """A Redis URL's password is masked in all the service prints while it serves keys."""
    host = redis_server.partition("://")[2]
    extra = ("--idempotency", f"redis://:{PASSWORD}@{host}")
    with (
        start_service(str(tmp_path / "r.db"), tmp_path, extra=extra) as service,
        service.client() as http,
    ):
        key = {"Idempotency-Key": f'"{uuid.uuid4()}"'}
        assert http.post("/v1/c", content=b"{}", headers={**JSON, **key}).status_code == 201
    assert PASSWORD not in service.log_path.read_text()


def test_a_location_quoted_in_a_refusal_is_masked(tmp_path: Path, serve: Serve) -> None:
    """An unsupported store URL is named back without its password."""
    out = serve(
        "--db",
        str(tmp_path / "m.db"),
        "--port",
        str(free_port()),
        "--idempotency",
        f"mongodb://u:{PASSWORD}@127.0.0.1/keys",
    )
    assert out.returncode == 2
    assert "mongodb://u:***@127.0.0.1/keys" in out.stderr
    assert PASSWORD not in out.stdout + out.stderr


def test_a_key_store_apart_from_the_documents_is_named_a_replay_cache_at_start(
    tmp_path: Path,
) -> None:
    """A key store apart from the documents gets one note saying it is a replay cache."""
    with start_service(str(tmp_path / "docs.db"), tmp_path) as beside:
        pass
    assert "note:" not in beside.log_path.read_text()
    extra = ("--idempotency", str(tmp_path / "keys.db"))
    with start_service(str(tmp_path / "docs.db"), tmp_path, extra=extra) as apart:
        pass
    notes = [line for line in apart.log_path.read_text().splitlines() if "note:" in line]
    assert len(notes) == 1, notes
    assert "keys.db is a replay cache" in notes[0]
    assert "in each write's own transaction" in notes[0]
    assert "does not answer" not in notes[0]


def test_a_replay_cache_that_does_not_answer_is_no_reason_not_to_start(tmp_path: Path) -> None:
    """Redis down at start: the service starts, says so, and its keyed writes work."""
    extra = ("--idempotency", f"redis://127.0.0.1:{free_port()}/0")
    with start_service(str(tmp_path / "docs.db"), tmp_path, extra=extra) as running:
        key = {"Idempotency-Key": f'"{uuid.uuid4()}"'}
        with running.client() as http:
            first = http.post("/v1/c", content=b"{}", headers={**JSON, **key})
            again = http.post("/v1/c", content=b"{}", headers={**JSON, **key})
        assert first.status_code == 201
        assert again.headers.get("idempotent-replayed") == "true"
    notes = [line for line in running.log_path.read_text().splitlines() if "note:" in line]
    assert len(notes) == 1, notes
    assert "does not answer yet" in notes[0]
