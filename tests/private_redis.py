"""A private redis-server on a free port, for tests that stop, freeze or cut it off.

The machine's Redis (6379) is shared with other tests and CI and is never
touched here. This one runs as the machine's does, without persistence
(``--save "" --appendonly no``), so stopping and starting it loses every
key exactly as a real restart would.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tests.servers import free_port, terminate

if TYPE_CHECKING:
    import redis


def redis_server_binary() -> str | None:
    """Where redis-server is, if it is installed."""
    return shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    )


@dataclass
class PrivateRedis:
    """One redis-server process on `port`, started, stopped, frozen and thawed at will."""

    binary: str
    directory: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    #: The addresses it listens on (the first is where `admin` and `url` go).
    bind: tuple[str, ...] = ("127.0.0.1",)
    #: More of redis-server's options, given at each start (``--key-load-delay``, ...).
    options: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        return self.url_at(self.bind[0])

    def url_at(self, address: str) -> str:
        """Its URL at one of the addresses it listens on."""
        return f"redis://{address}:{self.port}/0"

    def admin(self) -> redis.Redis:
        """A client of its own (CLIENT KILL TYPE normal spares the connection that sends it)."""
        import redis

        return redis.Redis(
            host=self.bind[0], port=self.port, socket_timeout=2, socket_connect_timeout=2
        )

    def start(self) -> None:
        import redis

        log = (self.directory / "redis.log").open("ab")
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                *self.bind,
                # Clients from other hosts (network namespaces) of a test, not the Internet.
                "--protected-mode",
                "no" if self.bind != ("127.0.0.1",) else "yes",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
                *self.options,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + 10
        while True:
            try:
                with self.admin() as client:
                    client.ping()
                return
            except redis.exceptions.ConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        "redis-server did not start:\n" + (self.directory / "redis.log").read_text()
                    ) from None
                time.sleep(0.02)

    def stop(self) -> None:
        """SIGTERM: with no save points configured, Redis exits without writing anything."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGCONT)  # a frozen process would not act on SIGTERM
        terminate(process)

    def freeze(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGCONT)

    def kill_clients(self) -> int:
        """CLIENT KILL TYPE normal: every client connection is closed; how many."""
        with self.admin() as client:
            killed: int = client.execute_command("CLIENT", "KILL", "TYPE", "normal")
            return killed


def end_quarantine(url: str) -> None:
    """Tell the idempotency store at `url` that no process ran before: new keys are welcome now.

    What an operator says of a brand-new Redis. Without it, the first lease
    after the store first meets an empty Redis is a quarantine (it cannot
    tell a new Redis from one that lost its keys).
    """
    from httpconflict.storage.idempotency.redis import RedisIdempotencyStore

    async def end() -> None:
        store = RedisIdempotencyStore(url)
        try:
            await store.end_quarantine()
        finally:
            await store.close()

    # In a thread of its own: the caller may be running an event loop already.
    with concurrent.futures.ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, end()).result()
