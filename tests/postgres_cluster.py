"""Stop, start and restart the machine's PostgreSQL cluster, for tests of an outage.

Unlike Redis (tests/private_redis.py), PostgreSQL is not started per test:
the tests stop the shared cluster itself, briefly, and always start it
again, waiting until it accepts connections (what ``pg_isready`` says).
Other tests using PostgreSQL at that moment fail, so these run rarely and
keep their outages short.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

CONFIG_DIR = Path("/etc/postgresql")


@dataclass(frozen=True)
class Cluster:
    """One cluster run by pg_ctlcluster (Debian's postgresql-common)."""

    version: str
    host: str
    port: int
    name: str = "main"

    def _ctl(self, action: str) -> list[str]:
        return ["pg_ctlcluster", "--skip-systemctl-redirect", self.version, self.name, action]

    def stop(self) -> float:
        """Stop it (fast mode: sessions are ended, transactions rolled back); when it was down."""
        subprocess.run(self._ctl("stop"), check=True, capture_output=True, timeout=60)
        return time.monotonic()

    def start(self) -> float:
        """Start it; the moment it first accepted connections, polled every 10 ms."""
        starting = subprocess.Popen(
            self._ctl("start"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        ready = self.wait_until_ready(timeout=60)
        starting.wait(timeout=60)
        return ready

    def restart(self) -> float:
        """Stop and start it again; the moment it accepted connections again."""
        self.stop()
        return self.start()

    def ready(self) -> bool:
        command = ["pg_isready", "-q", "-h", self.host, "-p", str(self.port), "-t", "1"]
        return subprocess.run(command, check=False).returncode == 0

    def wait_until_ready(self, timeout: float) -> float:
        deadline = time.monotonic() + timeout
        while not self.ready():
            if time.monotonic() > deadline:
                raise RuntimeError("PostgreSQL did not come back")
            time.sleep(0.01)
        return time.monotonic()


def local_cluster(url: str) -> Cluster | str:
    """The cluster serving `url` if this process may stop and start it, else why not."""
    versions = sorted(os.listdir(CONFIG_DIR)) if CONFIG_DIR.is_dir() else []
    parts = urlsplit(url)
    if parts.hostname not in ("127.0.0.1", "localhost"):
        return f"PostgreSQL at {url} is not on this machine"
    if not versions or shutil.which("pg_ctlcluster") is None or shutil.which("pg_isready") is None:
        return "stopping PostgreSQL needs pg_ctlcluster, pg_isready and a cluster in " + str(
            CONFIG_DIR
        )
    if os.geteuid() != 0:
        return "stopping PostgreSQL with pg_ctlcluster needs root"
    return Cluster(versions[-1], parts.hostname, parts.port or 5432)
