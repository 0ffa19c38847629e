"""tests/host_network.py: browsers share the host's network lock, a network change waits for them.

The holders are other processes, as the xdist workers that run a browser and the cluster
test are, on a lock file of the test's own (the suite's own browsers hold the machine's).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.host_network import changing_network, steady_network

ROOT = Path(__file__).parent.parent
HOLD = """
import sys, time
from pathlib import Path
from tests.host_network import {kind}
with {kind}(lock=Path(sys.argv[2])):
    print("held", flush=True)
    time.sleep(float(sys.argv[1]))
"""


@pytest.fixture
def lock(tmp_path: Path) -> Path:
    return tmp_path / "host-network.lock"


def holder(kind: str, seconds: float, lock: Path) -> subprocess.Popen[str]:
    """Another process holding the lock `kind` for `seconds` once it printed "held"."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD.format(kind=kind), str(seconds), str(lock)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline() == "held\n"
    return process


def test_a_network_change_waits_for_a_running_browser(lock: Path) -> None:
    """A browser holds the lock: a change gives up at its wait, then gets it once it is gone."""
    browser = holder("steady_network", 1.5, lock)
    try:
        with pytest.raises(TimeoutError), changing_network(wait=0.3, lock=lock):
            pass
        started = time.monotonic()
        with changing_network(wait=30, lock=lock):
            waited = time.monotonic() - started
            assert browser.poll() is not None, "the change ran while the browser held the lock"
    finally:
        browser.communicate()
    assert 0.5 < waited < 30, waited


def test_a_browser_waits_for_a_network_change_and_browsers_run_together(lock: Path) -> None:
    """A change holds the lock: no browser starts; two browsers hold it at once."""
    change = holder("changing_network", 1.0, lock)
    try:
        with pytest.raises(TimeoutError), steady_network(wait=0.3, lock=lock):
            pass
    finally:
        change.communicate()
    other = holder("steady_network", 1.0, lock)
    try:
        with steady_network(wait=0.3, lock=lock):
            assert other.poll() is None, "the other browser still holds it"
    finally:
        other.communicate()


def test_a_network_change_waiting_goes_before_the_next_browser(lock: Path) -> None:
    """A change waits for a running browser test; a browser test that comes meanwhile waits
    behind the change (the turnstile), so browser tests one after another cannot starve it."""
    browser = holder("steady_network", 1.5, lock)
    change = subprocess.Popen(
        [sys.executable, "-c", HOLD.format(kind="changing_network"), "1.0", str(lock)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(0.5)  # the change is waiting for the browser now
        with pytest.raises(TimeoutError), steady_network(wait=0.5, lock=lock):
            pass
        assert change.stdout is not None
        assert change.stdout.readline() == "held\n"
        assert browser.poll() is not None, "the change ran while the browser held the lock"
    finally:
        browser.communicate()
        change.communicate()
    with steady_network(wait=30, lock=lock):
        assert change.poll() is not None
