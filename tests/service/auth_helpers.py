"""Helpers of the authentication tests: tokens made with the real CLI, a served test database."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import _schema_url
from tests.servers import ServiceProcess, start_service

JSON = {"content-type": "application/json"}
#: The HMAC secret of the test JWTs (32 bytes, as RFC 7518 §3.2 asks of HS256).
SECRET = "s3cret-for-tests-only-0123456789abcdef"  # noqa: S105  (the tests' own)


def token_cli(db: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `httpconflict token ARGS --db DB` as an operator would."""
    return subprocess.run(
        [sys.executable, "-m", "httpconflict.cli", "token", *args, "--db", db],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def create_token(db: str, name: str, *roles: str) -> str:
    """A new API token of `roles`, as printed once by `token create`."""
    done = token_cli(db, "create", name, *(f"--role={r}" for r in roles))
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def bearer(token: str, scheme: str = "Bearer") -> dict[str, str]:
    return {"Authorization": f"{scheme} {token}"}


@contextmanager
def database(request: pytest.FixtureRequest, tmp: Path) -> Iterator[str]:
    """A fresh database of the test's parameter: a SQLite file or a PostgreSQL schema."""
    if request.param == "sqlite":
        yield str(tmp / "service.db")
        return
    server = request.getfixturevalue("postgres_server")
    yield from _schema_url(server)


@contextmanager
def served(db: str, log_dir: Path, *extra: str) -> Iterator[ServiceProcess]:
    """A service with these options where every authenticated caller may write."""
    grants = ("--grant", "write=authenticated")
    with start_service(db, log_dir, extra=(*extra, *grants)) as service:
        yield service
