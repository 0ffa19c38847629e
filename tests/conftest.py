"""Shared fixtures: real databases and real server processes.

PostgreSQL runs at 127.0.0.1:5432 (user postgres, database test), Redis at
127.0.0.1:6379. Without them, the tests that need them skip with the
reason; with CI=true set they fail instead, so CI cannot pass by skipping.
Tests that stop or freeze Redis start a private redis-server of their own
(`private_redis`), which needs the redis-server program; tests that stop
PostgreSQL start a private PostgreSQL (`private_postgres`), which needs its
server programs (initdb, pg_ctl). The shared servers are never stopped.
"""

from __future__ import annotations

import os
import signal
import ssl
import uuid
from collections.abc import Iterator
from typing import Any, NoReturn
from urllib.parse import quote

import httpx
import httpx._transports.default as httpx_transports
import pytest
from hypothesis import HealthCheck, settings

from tests.private_mariadb import PrivateMariaDB, mariadb_programs
from tests.private_postgres import PrivatePostgres, postgres_binaries
from tests.private_redis import PrivateRedis, end_quarantine, redis_server_binary
from tests.scheduling import (
    CACHE_KEY,
    PackageScheduling,
    Timings,
    known_seconds,
    longest_first,
)
from tests.servers import TLS, ServiceProcess, start_service

POSTGRES_URL = os.environ.get(
    "HTTPCONFLICT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("HTTPCONFLICT_TEST_REDIS", "redis://127.0.0.1:6379/0")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


# The suite stops its servers with SIGINT, as Ctrl-C in a terminal would. A
# shell without job control starts a background job (`make test &`, a CI
# runner's script) with SIGINT ignored, and every process started from it
# inherits that: werkzeug's servers ignored SIGINT, each stop waited 15 s for
# the kill (some 50 stops a run), and the SIGINT tests failed. A handler, unlike
# an ignore, is not inherited across exec: the processes the suite starts get
# SIGINT back.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

# Hypothesis's timing checks (200 ms an example, input generation "too slow")
# measure the machine, not the code: with the suite on several workers, or
# beside other work, they fail tests whose properties hold.
settings.register_profile("suite", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("suite")

# httpx builds an SSL context for every client it makes (loading the CA bundle:
# some 25 ms of CPU), and the tests make thousands (each `httpx.get` is a client
# of its own) for plain-HTTP servers that never use one. In the test processes
# the default context is built once and shared (tests/servers.py's `TLS`); any
# other (a CA of a test's own, a client certificate) is built as usual.
_build_context = httpx.create_ssl_context


def _default_context_once(
    verify: ssl.SSLContext | str | bool = True, cert: Any = None, trust_env: bool = True
) -> ssl.SSLContext:
    if verify is True and cert is None and trust_env:
        return TLS
    return _build_context(verify=verify, cert=cert, trust_env=trust_env)


httpx_transports.create_ssl_context = _default_context_once  # type: ignore[attr-defined]

TIMINGS = Timings()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On a worker of a parallel run, the longest modules first (tests/scheduling.py)."""
    cache = getattr(config, "cache", None)
    if cache is not None and hasattr(config, "workerinput"):
        items[:] = longest_first(items, known_seconds(cache.get(CACHE_KEY, {})))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> PackageScheduling | None:
    """``--dist loadscope`` sends each shared package to one worker (tests/scheduling.py)."""
    if config.getvalue("dist") != "loadscope":
        return None
    return PackageScheduling(config, log)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    TIMINGS.add(report)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The run's module timings into pytest's cache (by the one process that saw them all)."""
    cache = getattr(session.config, "cache", None)
    if cache is not None and not hasattr(session.config, "workerinput") and TIMINGS.seconds:
        cache.set(CACHE_KEY, TIMINGS.merged(cache.get(CACHE_KEY, {})))


def need_server(name: str, error: Exception) -> NoReturn:
    """Skip (or, in CI, fail) a test whose server is unreachable."""
    need(f"{name} is not reachable ({error}); start it to run this test")


def need(message: str) -> NoReturn:
    """Skip a test that cannot run here, saying why; with CI=true, fail it instead."""
    if IN_CI:
        pytest.fail(f"CI=true: {message}", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The PostgreSQL conninfo, once it is known to answer."""
    psycopg = pytest.importorskip("psycopg")
    try:
        with psycopg.connect(POSTGRES_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError as error:
        need_server("PostgreSQL at " + POSTGRES_URL, error)
    return POSTGRES_URL


@pytest.fixture(scope="session")
def redis_server() -> str:
    """The Redis URL, once it is known to answer.

    Its idempotency keys are out of quarantine: this Redis is the tests'
    own, and no earlier process can have a request in flight on it (a
    fresh CI Redis would otherwise refuse new keys for the first lease).
    """
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except redis.exceptions.ConnectionError as error:
        need_server("Redis at " + REDIS_URL, error)
    end_quarantine(REDIS_URL)
    return REDIS_URL


@pytest.fixture
def private_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateRedis]:
    """A redis-server of this test only, without persistence, that it may stop or freeze."""
    binary = redis_server_binary()
    if binary is None:
        need("the redis-server program is not installed; install it to run this test")
    server = PrivateRedis(binary, tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    """A PostgreSQL server of this test only, running, that it may stop and restart."""
    yield from _private_postgres()


@pytest.fixture(scope="module")
def module_private_postgres() -> Iterator[PrivatePostgres]:
    """`private_postgres` for the tests of one module, each leaving it running."""
    yield from _private_postgres()


def _private_postgres() -> Iterator[PrivatePostgres]:
    pytest.importorskip("psycopg")
    binaries = postgres_binaries()
    if isinstance(binaries, str):
        need(binaries + "; install them to run this test")
    server = PrivatePostgres(binaries)
    try:
        server.create()
        server.start()
        yield server
    finally:
        server.remove()


@pytest.fixture
def postgres_schema(postgres_server: str) -> Iterator[str]:
    """A database URL whose tables live in a fresh schema, dropped afterwards."""
    yield from _schema_url(postgres_server)


def _schema_url(server: str) -> Iterator[str]:
    import psycopg

    schema = f"hc_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        separator = "&" if "?" in server else "?"
        yield f"{server}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(scope="module")
def postgres_module_schema(postgres_server: str) -> Iterator[str]:
    yield from _schema_url(postgres_server)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceProcess]:
    """A running `httpconflict serve` on SQLite, then on PostgreSQL."""
    if request.param == "sqlite":
        db = str(tmp_path_factory.mktemp("db") / "service.db")
        with start_service(db, tmp_path_factory.mktemp("log")) as proc:
            yield proc
    else:
        server = request.getfixturevalue("postgres_server")
        for db in _schema_url(server):
            with start_service(db, tmp_path_factory.mktemp("log")) as proc:
                yield proc


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def two_worker_service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceProcess]:
    """`httpconflict serve` with two workers on SQLite, then on PostgreSQL, for a module's tests.

    One start per module and store: its tests must not need a fresh service
    (each works in collections of its own, with keys of its own).
    """
    log_dir = tmp_path_factory.mktemp("log")
    if request.param == "sqlite":
        with start_service(str(log_dir / "service.db"), log_dir, workers=2) as proc:
            yield proc
    else:
        for db in _schema_url(request.getfixturevalue("postgres_server")):
            with start_service(db, log_dir, workers=2) as proc:
                yield proc


MARIADB = {"host": "127.0.0.1", "port": 3306, "user": "root", "password": ""}


@pytest.fixture(scope="session")
def mariadb_server() -> dict[str, object]:
    """Connection arguments for MariaDB (PyMySQL's names), once it is known to answer."""
    pymysql = pytest.importorskip("pymysql")
    try:
        pymysql.connect(**MARIADB, connect_timeout=3).close()
    except pymysql.err.OperationalError as error:
        need_server("MariaDB at 127.0.0.1:3306", error)
    return dict(MARIADB)


@pytest.fixture
def private_mariadb_server() -> Iterator[PrivateMariaDB]:
    """A MariaDB server of this test only, running, that it may stop and run again."""
    pytest.importorskip("pymysql")
    programs = mariadb_programs()
    if isinstance(programs, str):
        need(programs + "; install them to run this test")
    server = PrivateMariaDB(*programs)
    try:
        server.start()
        yield server
    finally:
        server.remove()


@pytest.fixture
def private_mariadb(private_mariadb_server: PrivateMariaDB) -> dict[str, object]:
    """Connection arguments for a MariaDB server of this test only, whose globals it may set."""
    return private_mariadb_server.connection


@pytest.fixture(scope="module")
def mariadb_database(mariadb_server: dict[str, object]) -> Iterator[dict[str, object]]:
    """Connection arguments for a fresh MariaDB database, dropped afterwards."""
    import pymysql

    name = f"hc_test_{uuid.uuid4().hex[:12]}"
    with pymysql.connect(**mariadb_server) as conn, conn.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE {name}")
    try:
        yield {**mariadb_server, "database": name}
    finally:
        with pymysql.connect(**mariadb_server) as conn, conn.cursor() as cursor:
            cursor.execute(f"DROP DATABASE {name}")


@pytest.fixture
def mariadb_url(mariadb_server: dict[str, object]) -> Iterator[str]:
    """A SQLAlchemy URL (PyMySQL) of a fresh MariaDB database of one test, dropped afterwards."""
    yield from _mariadb_url(mariadb_server)


@pytest.fixture(scope="module")
def mariadb_module_url(mariadb_server: dict[str, object]) -> Iterator[str]:
    """`mariadb_url` for the tests of one module."""
    yield from _mariadb_url(mariadb_server)


def _mariadb_url(mariadb_server: dict[str, object]) -> Iterator[str]:
    import pymysql

    name = f"hc_test_{uuid.uuid4().hex[:12]}"
    with pymysql.connect(**mariadb_server) as conn, conn.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE {name}")
    try:
        yield f"mysql+pymysql://{mariadb_server['user']}@127.0.0.1:{mariadb_server['port']}/{name}"
    finally:
        with pymysql.connect(**mariadb_server) as conn, conn.cursor() as cursor:
            cursor.execute(f"DROP DATABASE {name}")
