"""The servers the conformance suite runs against, each a real process on 127.0.0.1.

The reference service, and each example app of examples/ started the way
its README says (``python -m examples.<app> --host --port --db``). All of
them serve the API of examples/README.md; the service needs only its
users' email declared unique first.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.servers import TLS, free_port, start_service, stop, wait_until_up
from tests.spawn import spawn

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Target:
    """A running server speaking the example API."""

    name: str
    url: str

    def client(self, **kwargs: object) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, verify=TLS, **kwargs)  # type: ignore[arg-type]


@contextmanager
def _service(log_dir: Path) -> Iterator[str]:
    with start_service(str(log_dir / "service.db"), log_dir, workers=2) as service:
        with service.client() as http:
            declared = http.put("/v1/_collections/users", json={"unique": ["email"]})
            assert declared.status_code == 200, declared.text
        yield service.url


def _example(module: str) -> Callable[[Path], Iterator[str]]:
    @contextmanager
    def start(log_dir: Path, port: int | None = None) -> Iterator[str]:
        """The example on `port` (a free one by default), its files in `log_dir`.

        Started again with the same `log_dir` and `port`, it goes on with
        the same database (its log starts afresh).
        """
        port = port or free_port()
        url = f"http://127.0.0.1:{port}"
        log_path = log_dir / f"{module}.log"
        command = [sys.executable, "-m", f"examples.{module}", "--host", "127.0.0.1"]
        command += ["--port", str(port), "--db", str(log_dir / f"{module}.db")]
        with log_path.open("wb") as log:
            process = spawn(
                command,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        try:
            wait_until_up(url, process, log_path)
            yield url
        finally:
            stop(process)
        # An answer in 5xx is a bug the suite must not miss, even unasserted.
        text = log_path.read_text(errors="replace")
        assert " 500 " not in text, text[-4000:]
        assert "Traceback" not in text, text[-4000:]

    return start  # type: ignore[return-value]


STARTERS: dict[str, Callable[[Path], object]] = {
    "service": _service,
    "fastapi": _example("fastapi_app"),
    "django": _example("django_app"),
    "flask": _example("flask_app"),
}


def available() -> list[str]:
    """The targets of this checkout: the service and each example app present."""
    return list(STARTERS)
