"""Fixtures for the browser tests: Debian's Chromium driven by Playwright, and a service
process that can be stopped and started again on the same port and database file.

One Chromium, and one service of each set of options, serve the tests of tests/web that
run one after another (pytest stops them before any test elsewhere): each test works in
browser profiles (contexts) of its own, on documents or a collection of its own; a test
that stops its service has one of its own. When a service stops, no request any test sent
it got a 5xx.

Without /usr/bin/chromium (``apt-get install chromium``; the Makefile's set-up does it)
the tests skip with the reason; with CI=true set they fail instead. No browser build is
ever downloaded: Playwright only drives the system's Chromium.

The pictures of docs/editor.md are screenshots two tests take: into the test's own
temporary directory, or into docs/ with HTTPCONFLICT_SCREENSHOTS=docs (`make
screenshots`), so that a test run never rewrites files of the project.

While a browser test runs, no test of the machine changes the host's network (the cluster
test waits): Chromium fails the requests under way when an address or a link changes
(tests/host_network.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.host_network import steady_network
from tests.servers import ServiceProcess, free_port, stop, wait_until_up
from tests.service.auth_helpers import create_token
from tests.spawn import spawn

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext

CHROMIUM = Path("/usr/bin/chromium")
# A name Chromium resolves to 127.0.0.1 (CHROMIUM_ARGS) but, not being localhost, takes for
# no secure context: a page served there has no Web Locks and no crypto.randomUUID, as one
# served over plain HTTP to a LAN address. Other names resolve as they did.
NON_SECURE_HOST = "editor.test"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# Without the background-networking flags Chromium tries to reach Google, which a
# closed network answers slowly or not at all.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    f"--host-resolver-rules=MAP {NON_SECURE_HOST} 127.0.0.1",
]
DOCS = Path(__file__).parent.parent.parent / "docs"
SMALL_BODY = 2048  # bytes, for a service whose 413 a page can reach with one field


def _unavailable(message: str) -> None:
    if IN_CI:
        pytest.fail(f"CI=true: {message}", pytrace=False)
    pytest.skip(message)


@pytest.fixture(autouse=True)
def _steady_network() -> Iterator[None]:
    """No test changes the host's links while a browser test runs: Chromium would fail the
    requests under way (net::ERR_NETWORK_CHANGED), a page's scripts among them
    (tests/host_network.py). Between tests nothing is under way, and the cluster test may go."""
    with steady_network():
        yield


# Package scope, not session: while Playwright's sync API runs, its event loop is the
# thread's running loop, and tests elsewhere calling asyncio.run() would fail. pytest
# closes it as soon as the next test is outside tests/web.
@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """Chromium, headless, for the tests of tests/web that run one after another."""
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing; install it with `apt-get install chromium`")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as error:
        _unavailable(f"playwright is not installed ({error}); `pip install -e '.[dev]'`")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def contexts(browser: Browser) -> Iterator[list[BrowserContext]]:
    """Two independent browser profiles (own localStorage each), closed afterwards.

    What went wrong in their pages (failed requests, 4xx and 5xx answers, script errors)
    is printed at the end: pytest shows it with a failed test's report.
    """
    opened = [browser.new_context(viewport={"width": 1000, "height": 760}) for _ in range(2)]
    events: list[str] = []
    for number, context in enumerate(opened):
        _record_trouble(context, f"profile {number}", events)
    yield opened
    for context in opened:
        context.close()
    if events:
        print("What the browser profiles met:", *events, sep="\n  ")


def _record_trouble(context: BrowserContext, name: str, events: list[str]) -> None:
    from playwright.sync_api import ConsoleMessage, Request, Response, WebError

    start = time.monotonic()

    def note(text: str) -> None:
        events.append(f"{time.monotonic() - start:7.3f} s {name}: {text}")

    def failed(request: Request) -> None:
        note(f"{request.method} {request.url} failed: {request.failure}")

    def answered(response: Response) -> None:
        if response.status >= 400:
            note(f"{response.status} {response.request.method} {response.url}")

    def script_error(error: WebError) -> None:
        note(f"script error: {error.error}")

    def console(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            note(f"console {message.type}: {message.text}")

    context.on("requestfailed", failed)
    context.on("response", answered)
    context.on("weberror", script_error)
    context.on("console", console)


class RestartableService:
    """`httpconflict serve` on a fixed port and database (a SQLite file or a postgresql://
    URL), stopped and started at will."""

    def __init__(self, db: Path | str, log_dir: Path, options: tuple[str, ...] = ()) -> None:
        self.db = str(db)
        self.options = options
        self.log_dir = log_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.runs: list[ServiceProcess] = []

    def start(self) -> None:
        # Another test run on this machine may take the port between free_port() and the
        # bind: its server would answer our /healthz while ours exits. A first start then
        # moves to another port; a restart keeps its port, which the test relies on.
        for _ in range(3):
            if self._started():
                return
            if len(self.runs) > 1:
                raise RuntimeError(f"port {self.port} was taken while the service was stopped")
            self.runs.clear()
            self.port = free_port()
            self.url = f"http://127.0.0.1:{self.port}"
        raise RuntimeError("three ports in a row were taken by another process")

    def _started(self) -> bool:
        """Start a run on `self.port`: True once it answered /healthz itself."""
        log_path = self.log_dir / f"access-{self.port}-{len(self.runs)}.log"
        command = [sys.executable, "-m", "httpconflict.cli", "serve", "--db", self.db]
        command += ["--port", str(self.port), "--log-format", "json", *self.options]
        with log_path.open("wb") as log:
            process = spawn(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        run = ServiceProcess(self.url, self.db, process, log_path)
        self.runs.append(run)
        try:
            wait_until_up(self.url, process, log_path)
        except RuntimeError:
            if "already in use" not in log_path.read_text():
                raise
            return False
        if run.wait_for_log(lambda record: record["path"] == "/healthz"):
            return True
        stop(process)
        return False

    def stop(self) -> None:
        stop(self.runs[-1].process)

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10)


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    """Where a test saves the screenshots docs/ shows: docs/ only when asked to update them."""
    return DOCS if os.environ.get("HTTPCONFLICT_SCREENSHOTS") == "docs" else tmp_path


@pytest.fixture(scope="package")
def editor_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RestartableService]:
    """A running service; afterwards, no request of any test that used it got a 5xx."""
    yield from serving(tmp_path_factory)


@pytest.fixture(scope="package")
def protected_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RestartableService]:
    """A running service that authenticates callers by API token."""
    yield from serving(tmp_path_factory, "--auth", "tokens")


@pytest.fixture(scope="package")
def admin_token(protected_service: RestartableService) -> str:
    """An admin's token for the protected service, made with the real CLI."""
    return create_token(protected_service.db, "editor", "admin")


@pytest.fixture
def restartable_service(tmp_path: Path) -> Iterator[RestartableService]:
    """A running service of one test's own, which the test may stop and start again."""
    yield from _running(RestartableService(tmp_path / "editor.db", tmp_path))


@pytest.fixture(scope="package")
def small_body_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RestartableService]:
    """A running service that refuses request bodies over 2048 bytes (413)."""
    yield from serving(tmp_path_factory, "--max-body", str(SMALL_BODY))


class NonSecureService(RestartableService):
    """A service whose pages are opened at http://editor.test:PORT (no secure context);
    the test's own client calls it at 127.0.0.1."""

    def start(self) -> None:
        self.url = f"http://127.0.0.1:{self.port}"
        super().start()
        self.url = f"http://{NON_SECURE_HOST}:{self.port}"

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=10)


@pytest.fixture(scope="package")
def non_secure_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RestartableService]:
    """A running service whose pages have no secure context, so no Web Locks."""
    yield from _non_secure(tmp_path_factory)


@pytest.fixture(scope="package")
def non_secure_protected_service(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RestartableService]:
    """`protected_service` (API tokens), its pages with no secure context (no crypto.subtle)."""
    yield from _non_secure(tmp_path_factory, "--auth", "tokens")


def _non_secure(factory: pytest.TempPathFactory, *options: str) -> Iterator[RestartableService]:
    directory = factory.mktemp("service")
    options = ("--allowed-host", NON_SECURE_HOST, *options)
    yield from _running(NonSecureService(directory / "editor.db", directory, options))


def serving(factory: pytest.TempPathFactory, *options: str) -> Iterator[RestartableService]:
    """A running service with `options`, in a directory of its own, checked when it stops."""
    directory = factory.mktemp("service")
    yield from _running(RestartableService(directory / "editor.db", directory, options))


def _running(server: RestartableService) -> Iterator[RestartableService]:
    server.start()
    try:
        yield server
    finally:
        server.stop()
    failures = [r for run in server.runs for r in run.access_log() if r["status"] >= 500]
    assert not failures, f"requests answered 5xx: {failures[:5]}"
