"""haproxy in front of the instances: its configuration, and the process.

The configuration is the one docs/scaling.md shows. What it decides:

- Health: ``GET /healthz`` every 300 ms; two failures take a server out,
  two successes bring it back. A 503 from /healthz counts as alive: it
  says the instance answers but its database does not, and every instance
  shares that database, so taking them all out would only turn the
  service's own 503 + Retry-After into haproxy's bare one.
- ``on-marked-down shutdown-sessions``: the requests held by a server taken
  out (its link cut) end then, instead of when ``timeout server`` runs out.
- Retries: a request is sent to another server (``option redispatch``)
  only when no connection to the first was made (``retry-on conn-failure``),
  so it was not sent at all. A write whose answer was lost is never resent
  by haproxy: it may have been applied, and only its client, with its
  Idempotency-Key, can safely send it again. (``retry-on empty-response``
  with ``http-request disable-l7-retry unless METH_GET || METH_HEAD``, for
  reads only, was seen resending a PUT in flight on a killed server.)
- Every answer names the server that gave it (``X-Served-By``), haproxy's
  own 502/503/504 too; a request that got no answer at all (haproxy closes
  the client's connection when it takes a server out mid-request) is found
  in haproxy's log by its ``X-Request-ID``. The test classifies each 5xx,
  and each request left unanswered, by the server that had it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

#: A request's log line (option httplog): its server and its captured X-Request-ID.
_LOGGED = re.compile(
    r" instances/(?P<server>\S+) .* (?:\d+/){4}(?P<retries>\+?)\d+ \S+ \{(?P<id>[0-9a-f]*)\} \""
)
#: Appended to the server of a request haproxy redispatched (its first server refused it).
REDISPATCHED = "+"
#: Seconds a server may take to answer: above the change feed's heartbeat.
SERVER_TIMEOUT = 15


def haproxy_binary() -> str | None:
    return shutil.which("haproxy") or (
        "/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None
    )


def configuration(port: int, servers: dict[str, str]) -> str:
    """haproxy.cfg: listen on 127.0.0.1:`port`, balance over `servers` (name -> host:port)."""
    lines = "\n".join(
        f"    server {name} {address} check inter 300ms fall 2 rise 2 "
        "on-marked-down shutdown-sessions"
        for name, address in servers.items()
    )
    return f"""global
    log stdout format raw local0
    maxconn 2000

defaults
    mode http
    log global
    option httplog
    timeout connect 1s
    timeout client 30s
    timeout server {SERVER_TIMEOUT}s
    timeout check 1s
    retries 3
    option redispatch 1
    retry-on conn-failure

frontend service
    bind 127.0.0.1:{port}
    # The client's id of each request, in the log: which server had a request that got no answer.
    capture request header X-Request-ID len 32
    default_backend instances

backend instances
    balance roundrobin
    option httpchk
    http-check send meth GET uri /healthz ver HTTP/1.1 hdr Host 127.0.0.1
    http-check expect rstatus ^(200|503)$
    http-after-response set-header X-Served-By %[srv_name]
{lines}
"""


@dataclass
class Haproxy:
    """A running haproxy (foreground, its log in `log_path`)."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def servers_by_request(self) -> dict[str, str]:
        """X-Request-ID -> the server haproxy gave the request to, from its log.

        A request haproxy sent elsewhere after its first server refused the
        connection (``+`` in its retries field) has `REDISPATCHED` after the name.
        """
        found = _LOGGED.finditer(self.log_path.read_text(errors="replace"))
        return {line["id"]: line["server"] + line["retries"] for line in found}

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_haproxy(binary: str, directory: Path, port: int, servers: dict[str, str]) -> Haproxy:
    """Start haproxy with `configuration`; return once it answers /healthz through a server."""
    config = directory / "haproxy.cfg"
    config.write_text(configuration(port, servers))
    checked = subprocess.run([binary, "-c", "-q", "-f", str(config)], capture_output=True)
    if checked.returncode != 0:
        raise RuntimeError(f"haproxy refused its configuration:\n{checked.stderr.decode()}")
    log_path = directory / "haproxy.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [binary, "-db", "-f", str(config)], stdout=log, stderr=subprocess.STDOUT
        )
    proxy = Haproxy(f"http://127.0.0.1:{port}", process, log_path)
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"haproxy exited:\n{log_path.read_text()}")
        try:
            if httpx.get(proxy.url + "/healthz", timeout=2).status_code == 200:
                return proxy
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            proxy.stop()
            raise RuntimeError(f"haproxy did not answer:\n{log_path.read_text()}")
        time.sleep(0.1)
