"""The app's own Redis failing, through FastAPI, Flask and Django on real servers: 503/504.

The apps (redis_apps.py: FastAPI on ``redis.asyncio``, Flask on the sync
client; redis_django.py: Django's RedisCache under its ProblemMiddleware
and REST framework's handler) use a private Redis that the test freezes,
cuts its clients off (``CLIENT KILL``) and stops. A read is a 503
``unavailable`` with Retry-After; a write whose connection was cut while
its command was in flight (a BLMOVE waiting for a job) is a 504
``outcome-unknown``; the app's own bug (WRONGTYPE) stays its 500.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from tests.adapters.test_asyncpg_outage import assert_server_error
from tests.adapters.test_database_outage import assert_outage, started
from tests.private_redis import PrivateRedis
from tests.servers import start_app

pytest.importorskip("redis")

#: Reads once Redis is back, before it is taken to be back for good.
TRIES = 50


def servers(redis: PrivateRedis, log_dir: Path) -> list[object]:
    assert redis.process is not None
    env = {"REDIS_APP_URL": redis.url, "REDIS_APP_PID": str(redis.process.pid)}
    apps = "tests.adapters.redis_apps"
    return [
        start_app(f"{apps}:create_fastapi", log_dir, env=env, probe="/healthz"),
        start_app(f"{apps}:create_flask", log_dir, env=env, probe="/healthz", wsgi=True),
        start_app(
            "tests.adapters.redis_django:create_app", log_dir, env=env, wsgi=True, probe="/healthz"
        ),
    ]


def serving(
    stack: ExitStack, redis: PrivateRedis, log_dir: Path
) -> tuple[httpx.Client, list[str], list[str]]:
    """A client, the apps on `redis` (stopped with `stack`) and their reads, each answering.

    Each app's read is a 200, and its own bug (WRONGTYPE) a 500.
    """
    http = stack.enter_context(httpx.Client(timeout=30))
    apps = started(stack, *servers(redis, log_dir))  # type: ignore[arg-type]
    reads = [f"{app}/value" for app in apps] + [f"{apps[2]}/api/value"]
    for url in reads:
        assert http.get(url).status_code == 200, url
    for app in apps:
        assert_server_error(f"{app}/wrongtype")
    return http, apps, reads


def taken_while(
    redis: PrivateRedis, apps: list[str], cut: Callable[[], object]
) -> dict[str, httpx.Response]:
    """Each app's answer to POST /take (a BLMOVE waiting for a job) when `cut` is done meanwhile."""
    answers: dict[str, httpx.Response] = {}

    def take(app: str) -> None:
        answers[app] = httpx.post(f"{app}/take", timeout=30)

    takers = [threading.Thread(target=take, args=(app,)) for app in apps]
    for taker in takers:
        taker.start()
    try:
        deadline = time.monotonic() + 10
        while waiting_clients(redis, "blmove") < len(apps):
            assert time.monotonic() < deadline, "the apps' BLMOVEs never reached Redis"
            time.sleep(0.02)
        cut()
    finally:
        for taker in takers:
            taker.join(30)
    return answers


def waiting_clients(server: PrivateRedis, command: str) -> int:
    """How many of the server's clients are running `command` (blocked in it)."""
    with server.admin() as admin:
        clients = admin.client_list()
    return sum(1 for client in clients if client.get("cmd") == command)


def test_redis_frozen_killed_and_stopped(private_redis: PrivateRedis, tmp_path: Path) -> None:
    """Frozen: 503; killed under a BLMOVE: 504 for the POST; stopped: 503; WRONGTYPE: 500."""
    pytest.importorskip("django")
    with ExitStack() as stack:
        http, apps, reads = serving(stack, private_redis, tmp_path)

        private_redis.freeze()
        try:
            for url in reads:
                assert_outage(http.get(url))  # a read timed out: 503
        finally:
            private_redis.thaw()

        answers = taken_while(private_redis, apps, lambda: private_redis.kill_clients())
        for app in apps:
            assert_outage(answers[app], 504)  # cut off under a write: it may have run

        private_redis.stop()
        for url in reads:
            assert_outage(http.get(url))
        for app in apps:
            assert_outage(http.post(f"{app}/take"), 503, 504)
        private_redis.start()
        for url in reads:
            for _ in range(TRIES):
                answer = http.get(url)
                if answer.status_code != 503:
                    break
            assert answer.status_code == 200, answer.text


def test_django_session_not_saved(private_redis: PrivateRedis, tmp_path: Path) -> None:
    """Redis frozen after the view, as SessionMiddleware saves the session: GET 503, POST 504.

    The error is raised after the view, outside ProblemMiddleware's reach:
    Django's handler500 (`httpconflict.django.server_error`) answers it.
    """
    pytest.importorskip("django")
    with ExitStack() as stack:
        http = stack.enter_context(httpx.Client(timeout=30))
        django = started(stack, servers(private_redis, tmp_path)[2])[0]  # type: ignore[arg-type]
        assert http.get(f"{django}/visit").status_code == 200
        for method, status in (("GET", 503), ("POST", 504)):
            try:
                answer = http.request(method, f"{django}/visit?freeze=1")
            finally:
                private_redis.thaw()
            assert_outage(answer, status)
