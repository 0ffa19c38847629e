"""httpconflict's Django middlewares run in the mode Django calls them in: no thread hops.

A sync-only middleware on an ASGI stack makes Django adapt the handlers
around it (sync_to_async, async_to_sync): a thread hop each way on every
request. django_modes.py loads the middlewares into both handlers in its
own process (Django's settings are configured once per process) and
reports the adaptations Django logged and the answers it got.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("django")

PROJECT = Path(__file__).parent.parent.parent


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "tests.adapters.django_modes"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


def test_no_handler_is_adapted_under_asgi_or_wsgi(report: dict[str, Any]) -> None:
    assert report["adapted"] == []


@pytest.mark.parametrize("mode", ["asgi", "wsgi"])
def test_the_middlewares_answer_in_both_modes(report: dict[str, Any], mode: str) -> None:
    answers = report["answers"]
    assert answers[f"{mode} missing"] == [404, "application/problem+json"]
    assert answers[f"{mode} not modified"] == [304, None]
    assert answers[f"{mode} stale"] == [412, "application/problem+json"]
