"""One lock between the tests that change this host's network and the tests that drive a browser.

Chromium watches the host's addresses and links (netlink). When one changes (a bridge, a
veth or an address added or removed, a link taken down), it takes the network for changed
and fails the requests it has under way with net::ERR_NETWORK_CHANGED: it sends none of
them again, the loopback service they were for included. A page whose script failed so
never runs it: an editor tab opened on #/notes/ID stayed on the page's first HTML ("No
document open", its scripts' DOMContentLoaded handler never routed), and a change feed
stream cut so is reopened, one stream too many for a test that counts them. The cluster
test (tests/cluster) makes, cuts and removes its links in the host's namespace, and under
pytest-xdist it ran beside the browser tests: with it running, 2 of 280 editor tabs opened
in a loop died so (0 of 1050 without it), as one of the seven tabs of
tests/web/test_editor_feed.py did in one CI run of some thirty.

So each browser test (tests/web) holds this lock shared while it runs, and a test that
changes the host's network holds it exclusively while it does; the lock is the machine's,
so it keeps apart the test runs of one machine too. A test that waits to change the
network goes first: it holds a second lock (the turnstile) while it waits, and a browser
test passes that turnstile before it takes its share, so the browser tests of a worker,
one after another, cannot hold the change off until they are all done (the cluster test
waited 64 s so when the browsers held the lock for as long as Chromium ran). A wait past
`WAIT_SECONDS` fails with what was waited for, rather than holding a run until its deadline.
"""

from __future__ import annotations

import fcntl
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

LOCK: Final = Path(tempfile.gettempdir()) / "httpconflict-host-network.lock"
#: Longest a test waits for the others: the browser tests of one worker take minutes.
WAIT_SECONDS: Final = 900.0
_POLL: Final = 0.2


@contextmanager
def steady_network(wait: float = WAIT_SECONDS, lock: Path = LOCK) -> Iterator[None]:
    """While a browser runs: no test changes the host's addresses or links."""
    other = "a test changing this host's network"
    with _held(_turnstile(lock), fcntl.LOCK_EX, wait, other):
        pass  # behind a test waiting to change the network, not ahead of it
    with _held(lock, fcntl.LOCK_SH, wait, other):
        yield


@contextmanager
def changing_network(wait: float = WAIT_SECONDS, lock: Path = LOCK) -> Iterator[None]:
    """While a test adds, removes or cuts links of this host: no browser runs."""
    other = "the browsers of the tests running on this host"
    with (
        _held(_turnstile(lock), fcntl.LOCK_EX, wait, other),
        _held(lock, fcntl.LOCK_EX, wait, other),
    ):
        yield


def _turnstile(lock: Path) -> Path:
    return lock.with_name(lock.name + ".turnstile")


@contextmanager
def _held(lock: Path, kind: int, wait: float, other: str) -> Iterator[None]:
    # Opened anew by each holder: flock locks belong to an open file, so two holders in one
    # process exclude each other as two processes do.
    with lock.open("a") as file:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(file, kind | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise TimeoutError(f"{other} held {lock} for {wait:g} s") from None
                time.sleep(_POLL)
        try:
            yield
        finally:
            fcntl.flock(file, fcntl.LOCK_UN)
