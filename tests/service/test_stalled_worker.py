"""A request sent while the worker stalled past a connection's idle timeout is answered, not reset.

The worker is paused (SIGSTOP) for 4 s, longer than the timeout that
closes an idle connection: the keep-alive timeout (2 s here, uvicorn's 5 s
by default) for a kept-alive connection, the header timeout (1.5 s here)
for a new one that has sent nothing yet. A request sent on that connection during the pause waits in
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
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import ServiceProcess, start_service

pytestmark = pytest.mark.slow

STALL = 4.0
HEADER_TIMEOUT = 1.5
KEEP_ALIVE = 2


@pytest.fixture(scope="module")
def one_worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """The service with one worker (its own process), shared by the stalls of a connection:
    each stall ends before its test does."""
    folder = tmp_path_factory.mktemp("stall")
    extra = ("--header-timeout", str(HEADER_TIMEOUT), "--keep-alive", str(KEEP_ALIVE))
    with start_service(str(folder / "stall.db"), folder, extra=extra) as service:
        yield service


@pytest.mark.parametrize("connection", ["kept-alive", "new"])
def test_a_request_sent_during_a_stall_is_answered(
    one_worker: ServiceProcess, connection: str
) -> None:
    """Idle connection, worker paused 4 s, a GET sent meanwhile: 200, not a reset."""
    service = one_worker
    port = int(service.url.rsplit(":", 1)[1])
    client = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    if connection == "kept-alive":
        client.request("GET", "/healthz")
        first = client.getresponse()
        first.read()
        assert first.status == 200
    else:
        client.connect()
    time.sleep(0.5)  # idle, well within either timeout

    os.kill(service.process.pid, signal.SIGSTOP)
    try:
        time.sleep(0.5)
        asking, outcome = _ask(client)
        time.sleep(STALL - 0.5)
    finally:
        os.kill(service.process.pid, signal.SIGCONT)
    asking.join(20)
    client.close()
    assert outcome == [200]


def test_a_stalled_worker_of_two_is_not_killed_under_its_request(tmp_path: Path) -> None:
    """One of 2 workers paused 8 s, a GET sent to it meanwhile: answered, the worker kept.

    uvicorn's supervisor pings each worker and kills one that has not
    answered for its health-check timeout (5 s by default), taking the
    request in flight with it: the client saw its connection reset. A
    worker the machine starved of CPU for a few seconds is not hung; the
    service waits as long as gunicorn does for a silent worker (30 s).
    """
    with start_service(
        str(tmp_path / "stall.db"), tmp_path, workers=2, fork_workers=True
    ) as service:
        service.wait_for_workers(2)
        port = int(service.url.rsplit(":", 1)[1])
        client = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        seen = len(service.access_log())
        client.request("GET", "/healthz")
        first = client.getresponse()
        first.read()
        assert first.status == 200
        (record,) = service.wait_for_log(lambda r: True, count=seen + 1)[seen:]
        worker = int(record["worker"])

        os.kill(worker, signal.SIGSTOP)
        try:
            asking, outcome = _ask(client)
            time.sleep(8.0)
        finally:
            os.kill(worker, signal.SIGCONT)
        asking.join(20)
        client.close()
        assert outcome == [200]
        os.kill(worker, 0)  # still running: not replaced


def _ask(client: http.client.HTTPConnection) -> tuple[threading.Thread, list[object]]:
    """A started thread sending GET /healthz on `client`; its status (or error) goes in the list."""
    outcome: list[object] = []

    def ask() -> None:
        try:
            client.request("GET", "/healthz")
            answer = client.getresponse()
            answer.read()
            outcome.append(answer.status)
        except OSError as error:
            outcome.append(error)

    asking = threading.Thread(target=ask)
    asking.start()
    return asking, outcome
