"""A request sent while the worker stalled past a connection's idle timeout is answered, not reset.

The worker is paused (SIGSTOP) for 6 s, longer than the timeout that
closes an idle connection: uvicorn's keep-alive timeout (5 s) for a kept-
alive connection, the header timeout (2 s here) for a new one that has sent
nothing yet. A request sent on that connection during the pause waits in
the socket. When the worker resumes, both the timeout and the request are
due: the timeout must not close the connection under the request (which
the client sees as a reset), and the request is answered.
"""

from __future__ import annotations

import http.client
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from tests.servers import start_service

pytestmark = pytest.mark.slow

STALL = 6.0
HEADER_TIMEOUT = 2.0


@pytest.mark.parametrize("connection", ["kept-alive", "new"])
def test_a_request_sent_during_a_stall_is_answered(tmp_path: Path, connection: str) -> None:
    """Idle connection, worker paused 6 s, a GET sent meanwhile: 200, not a reset."""
    extra = ("--header-timeout", str(HEADER_TIMEOUT))
    with start_service(str(tmp_path / "stall.db"), tmp_path, extra=extra) as service:
        port = int(service.url.rsplit(":", 1)[1])
        client = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
        if connection == "kept-alive":
            client.request("GET", "/healthz")
            first = client.getresponse()
            first.read()
            assert first.status == 200
        else:
            client.connect()
        time.sleep(1.0)  # idle, well within either timeout
        outcome: list[object] = []

        def ask() -> None:
            try:
                client.request("GET", "/healthz")
                answer = client.getresponse()
                answer.read()
                outcome.append(answer.status)
            except OSError as error:
                outcome.append(error)

        os.kill(service.process.pid, signal.SIGSTOP)
        try:
            time.sleep(0.5)
            asking = threading.Thread(target=ask)
            asking.start()
            time.sleep(STALL - 0.5)
        finally:
            os.kill(service.process.pid, signal.SIGCONT)
        asking.join(20)
        client.close()
    assert outcome == [200]
