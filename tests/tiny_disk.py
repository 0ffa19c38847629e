"""A real filesystem that fills up: a tmpfs of a few megabytes, mounted for one test.

A full disk is the fault (ENOSPC): SQLite answers SQLITE_FULL, PostgreSQL
53100 for a table in a tablespace there. Mounting needs root (CI runs as
root); elsewhere the tests that need it skip, saying so.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import need


@contextmanager
def tiny_disk(megabytes: int = 4) -> Iterator[Path]:
    """A tmpfs of `megabytes` MB, mounted until the block ends, that any user may enter.

    Its mount point is outside pytest's temporary directories, which only
    their owner may enter: PostgreSQL's server (user postgres) must reach it.
    """
    mount, umount = shutil.which("mount"), shutil.which("umount")
    if os.geteuid() != 0 or mount is None or umount is None:
        need("a full disk is made by mounting a tmpfs, which needs root and mount(8)")
    where = Path(tempfile.mkdtemp(prefix="hc-disk-"))
    where.chmod(0o755)
    mounted = subprocess.run(
        [mount, "-t", "tmpfs", "-o", f"size={megabytes}m,mode=1777", "tmpfs", str(where)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        need(f"cannot mount a tmpfs here (a container without CAP_SYS_ADMIN?): {mounted.stderr}")
    try:
        yield where
    finally:
        # Lazily: a server of the test may still hold a file open as it stops.
        subprocess.run([umount, "--lazy", str(where)], check=False)
        where.rmdir()


def fill(disk: Path) -> Path:
    """Fill `disk` to its last byte with one file, returned (delete it to make room)."""
    ballast = disk / "ballast"
    fd = os.open(ballast, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        for size in (1 << 16, 1 << 12, 1):  # what 64 KB writes leave, then smaller ones
            with contextlib.suppress(OSError):  # ENOSPC: full at this size
                while True:
                    os.write(fd, b"\0" * size)
    finally:
        os.close(fd)
    return ballast
