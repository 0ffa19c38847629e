"""Varnish Cache (Debian's varnish) run as a real shared cache in front of a server on 127.0.0.1.

Varnish with its built-in VCL only (``-b``: nothing of ours decides what
it keeps): it looks up GET and HEAD, passes every other method and any
request with Authorization or Cookie; it keeps an answer of a status on
its list (200, 203, 204, 300, 301, 304, 404, 410, 414: about RFC 9111's
"heuristically cacheable" ones) for ``default_ttl`` (120 s) when it says
nothing of its freshness (as long as it says when it does), never a 409,
412 or 428 even when it says ``max-age`` (RFC 9111 §3 would let it),
never one that says ``no-store``, ``no-cache`` or ``private`` (it marks
the URL "hit-for-miss" instead), and keeps one
variant per value of the request fields its Vary names. Like every cache
in common use, it does not drop what it keeps of a URL when a PUT to it
succeeds (RFC 9111 §4.4 says it must): an origin whose reads change must
say ``no-cache``. Without /usr/sbin/varnishd (``apt-get install varnish``,
which `make system-packages` does as root) the tests skip; with CI=true
they fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.servers import free_port, terminate, wait_until_up

VARNISHD = Path("/usr/sbin/varnishd")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@contextmanager
def varnish(backend: str) -> Iterator[str]:
    """Varnish caching `backend` (``http://127.0.0.1:PORT``) until the block ends; yield its URL."""
    if not VARNISHD.exists():
        message = "Varnish is not installed: apt-get install varnish"
        if IN_CI:
            pytest.fail(f"CI=true: {message}", pytrace=False)
        pytest.skip(message)
    origin = urlsplit(backend)
    work = Path(tempfile.mkdtemp(prefix="httpconflict-varnish-"))
    work.chmod(0o755)  # its worker runs as its own user (vcache) when started as root
    port = free_port()
    log = work / "varnishd.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                str(VARNISHD),
                "-F",  # in the foreground, a child of the test
                "-n",
                str(work / "instance"),
                "-a",
                f"127.0.0.1:{port}",
                "-b",
                f"{origin.hostname}:{origin.port}",
                "-s",
                "malloc,32m",
                "-T",
                "none",  # no management port
            ],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, process, log)
        yield url
    finally:
        terminate(process)
        shutil.rmtree(work, ignore_errors=True)
