"""The processes the suite starts can be stopped the way tests/servers.py stops them."""

from __future__ import annotations

import signal
import subprocess
import sys


def test_a_process_the_suite_starts_stops_on_sigint() -> None:
    """SIGINT stops a Python process the suite starts, even when the suite was started ignoring it.

    A shell without job control starts a background job (``make test &``,
    a CI runner's script) with SIGINT ignored, and the processes it starts
    inherit that; tests/conftest.py gives the suite's own processes, and
    so every process they start, SIGINT back.
    """
    child = subprocess.Popen(
        [sys.executable, "-c", "import time; print('up', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == b"up\n"
        child.send_signal(signal.SIGINT)
        assert child.wait(timeout=10) != 0
    finally:
        child.kill()
        child.wait()
        if child.stdout is not None:
            child.stdout.close()
