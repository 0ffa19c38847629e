"""Apps that set their own ETag, with ``install(app)`` as the docs show, counting through Varnish.

Flask's view calls ``response.set_etag``; Starlette's and FastAPI's answer
``Response(headers={"ETag": ...})``; Django's a ``JsonResponse`` with its
ETag, `ProblemMiddleware` in MIDDLEWARE (Django's ``install``); none says
anything of caching, nor uses the library's read helpers. Before, Flask's
and Starlette's ``install`` and Django's middleware added nothing to such
a read: Varnish kept it 120 s (RFC 9111 §4.2.2), so after the first write
every read through it was the old count and every write made from it a
412. Now they say ``Cache-Control: no-cache`` on it (the core's
`_read_caching`), as the helpers do: Varnish asks before each use.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest

from tests.caching.counting import one_writer_through
from tests.caching.varnish import varnish
from tests.servers import start_app

APPS = ("flask", "starlette", "fastapi", "django")
#: Each app's factory, and whether it is a WSGI app.
FACTORIES = {
    "flask": ("tests.caching.install_apps:create_flask", True),
    "starlette": ("tests.caching.install_apps:create_starlette", False),
    "fastapi": ("tests.caching.install_apps:create_fastapi", False),
    "django": ("tests.caching.install_django:create_app", True),
}
PATH = "/counter"


@contextmanager
def behind_varnish(name: str, log_dir: Path) -> Iterator[tuple[str, str]]:
    """The app `name` served, and Varnish in front of it: (Varnish's URL, the app's)."""
    env = {"COUNTER_DATABASE": f"sqlite:///{log_dir / 'counter.db'}"}
    factory, wsgi = FACTORIES[name]
    with (
        start_app(factory, log_dir, env=env, probe="/healthz", wsgi=wsgi) as url,
        varnish(url) as cache,
    ):
        yield cache, url


@pytest.fixture(scope="module")
def cached(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[str, str]]]:
    """Each app behind its own Varnish, started at once (each takes seconds): URLs by name."""
    started = {name: behind_varnish(name, tmp_path_factory.mktemp(name)) for name in APPS}
    with ExitStack() as stack, ThreadPoolExecutor(len(started)) as pool:
        entering = {name: pool.submit(cm.__enter__) for name, cm in started.items()}
        for name, future in entering.items():
            if future.exception() is None:  # waits; one that failed is left to raise below
                stack.push(started[name].__exit__)
        yield {name: future.result() for name, future in entering.items()}


@pytest.mark.parametrize("name", APPS)
def test_a_writer_and_readers_through_varnish_see_each_write_with_install_alone(
    name: str, cached: dict[str, tuple[str, str]]
) -> None:
    """1 writer and 2 readers through Varnish: no stale read, no 412, final == 2xx writes."""
    cache, origin = cached[name]
    tally = one_writer_through(lambda: httpx.Client(base_url=cache, timeout=30), PATH)
    with httpx.Client(base_url=cache, timeout=30) as http:
        read = http.get(PATH)
        again = http.get(PATH, headers={"If-None-Match": read.headers["etag"]})
    with httpx.Client(base_url=origin, timeout=30) as http:
        stored = http.get(PATH).json()["count"]
    summary = (
        f"{name}: {tally.writes} writes, {tally.refused} refused, "
        f"{len(tally.stale_reads)} stale of {tally.reads} reads, "
        f"final {read.json()['count']} through Varnish, {stored} stored"
    )
    print(summary)
    assert stored == tally.writes, summary  # the write itself never loses an update
    assert (tally.stale_reads, tally.refused) == ([], 0), summary
    assert read.json()["count"] == tally.writes, summary
    assert tally.writes >= 3, summary
    assert read.headers.get("cache-control") == "no-cache"
    assert (again.status_code, again.headers.get("cache-control")) == (304, "no-cache")
