"""Apps written as the docs show, with no Cache-Control of their own, counting through Varnish.

Each app reads with the library's conditional helpers: FastAPI's
``conditions.check`` (with `install`'s middleware), Flask's and Django's
``@conditional``, REST framework's ``ConditionalModelMixin.retrieve``.
Before, their reads carried an ETag and said nothing of caching, so Varnish
kept each one 120 s (RFC 9111 §4.2.2) and dropped nothing when a PUT went
through it: after the first write every read was the old count, and every
write made from it a 412. Now the library says ``Cache-Control: no-cache``
on such a read (and on the 304 made in its place): Varnish asks before
each use, and the counters add up.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest

from tests.adapters.django_servers import create_note, notes_server
from tests.caching.counting import CLIENTS, count_through
from tests.caching.varnish import varnish
from tests.servers import start_app

#: name -> the server it runs on, and its counter note's path there (None: made by a POST)
APPS = {
    "fastapi": ("fastapi", "/counter"),
    "flask": ("flask", "/counter"),
    "django": ("django", None),  # plain views with @conditional
    "drf": ("django", "/api"),  # ConditionalModelMixin on the same project
}
FACTORIES = {
    "fastapi": "tests.caching.user_apps:create_fastapi",
    "flask": "tests.caching.user_apps:create_flask",
}


@contextmanager
def origin(server: str, log_dir: Path) -> Iterator[str]:
    if server == "django":
        with notes_server(str(log_dir / "notes.db"), log_dir) as url:
            yield url
        return
    env = {"COUNTER_DATABASE": f"sqlite:///{log_dir / 'counter.db'}"}
    wsgi = server == "flask"
    with start_app(FACTORIES[server], log_dir, env=env, probe="/healthz", wsgi=wsgi) as url:
        yield url


@contextmanager
def behind_varnish(server: str, log_dir: Path) -> Iterator[str]:
    with origin(server, log_dir) as url, varnish(url) as cache:
        yield cache


@pytest.fixture(scope="module")
def cached(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Each server behind its own Varnish, started at once (each takes seconds): URL by name."""
    servers = sorted({server for server, _ in APPS.values()})
    started = {s: behind_varnish(s, tmp_path_factory.mktemp(s)) for s in servers}
    with ExitStack() as stack, ThreadPoolExecutor(len(started)) as pool:
        entering = {s: pool.submit(cm.__enter__) for s, cm in started.items()}
        urls = {}
        for server, future in entering.items():
            if future.exception() is None:  # waits; one that failed is left to raise below
                stack.push(started[server].__exit__)
        for server, future in entering.items():
            urls[server] = future.result()
        yield urls


@pytest.mark.parametrize("name", list(APPS))
def test_counters_through_varnish_add_up_with_no_cache_control_of_the_apps(
    name: str, cached: dict[str, str]
) -> None:
    """3 clients count through Varnish: final == 2xx writes, no read older than one's own write."""
    server, path = APPS[name]
    url = cached[server]
    with httpx.Client(base_url=url, timeout=30) as http:
        if path is None or path == "/api":
            path, _ = create_note(http, path or "")
    tally = count_through(lambda: httpx.Client(base_url=url, timeout=30), path)
    with httpx.Client(base_url=url, timeout=30) as http:
        read = http.get(path)
        again = http.get(path, headers={"If-None-Match": read.headers["etag"]})
    assert tally.stale_reads == [], (
        f"{len(tally.stale_reads)} stale reads, {tally.writes} writes, {tally.refused} refused"
    )
    assert tally.final == tally.writes
    assert tally.writes >= CLIENTS
    assert read.headers.get("cache-control") == "no-cache"
    assert (again.status_code, again.headers.get("cache-control")) == (304, "no-cache")
