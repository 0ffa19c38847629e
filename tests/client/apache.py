"""Apache httpd (Debian's apache2-bin) run as a real WebDAV server of JSON files on 127.0.0.1.

mod_dav_fs stores each PUT as a file and checks If-Match against the
file's ETag (its size and modification time); PATCH is not a method it
knows (405), and a PUT's 204 carries no ETag. mod_deflate compresses
what it serves to a client that accepts gzip and gives that answer its own
ETag, the file's with ``-gzip`` appended (``DeflateAlterETag``'s default),
which If-Match never matches; and httpd makes the ETag of a file modified
within the last second weak (W/). Without /usr/sbin/apache2 (``apt-get
install apache2-bin``, which `make test` does as root) the tests skip;
with CI=true they fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.servers import free_port, terminate, wait_until_up

APACHE = Path("/usr/sbin/apache2")
MODULES = Path("/usr/lib/apache2/modules")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

CONFIG = """\
ServerRoot {root}
PidFile {root}/httpd.pid
Listen 127.0.0.1:{port}
ServerName 127.0.0.1
{user}
ErrorLog {root}/error.log
LoadModule mpm_event_module {modules}/mod_mpm_event.so
LoadModule authz_core_module {modules}/mod_authz_core.so
LoadModule mime_module {modules}/mod_mime.so
LoadModule filter_module {modules}/mod_filter.so
LoadModule deflate_module {modules}/mod_deflate.so
LoadModule dav_module {modules}/mod_dav.so
LoadModule dav_fs_module {modules}/mod_dav_fs.so
DocumentRoot {root}/docs
DavLockDB {root}/lock/DavLock
TypesConfig /dev/null
AddType application/json .json
<Directory />
  AllowOverride None
</Directory>
<Directory {root}/docs>
  Dav On
  Require all granted
  SetOutputFilter DEFLATE
</Directory>
"""


@contextmanager
def apache_dav() -> Iterator[tuple[str, Path]]:
    """httpd serving ROOT/docs (GET, PUT If-Match) until the block ends; yield URL and ROOT.

    ROOT is a fresh folder of /tmp that httpd's user can reach (pytest's
    are its owner's alone), removed after.
    """
    if not APACHE.exists():
        message = "Apache httpd is not installed: apt-get install apache2-bin"
        if IN_CI:
            pytest.fail(f"CI=true: {message}", pytrace=False)
        pytest.skip(message)
    folder = tempfile.mkdtemp(prefix="httpconflict-httpd-")
    try:
        with _serving(Path(folder)) as url:
            yield url, Path(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def _serving(root: Path) -> Iterator[str]:
    for folder in ("docs", "lock"):
        (root / folder).mkdir()
    user = ""
    if os.geteuid() == 0:  # httpd will not serve as root
        user = "User www-data\nGroup www-data"
        root.chmod(0o755)
        for folder in ("docs", "lock"):
            shutil.chown(root / folder, "www-data", "www-data")
    port = free_port()
    config = root / "httpd.conf"
    config.write_text(CONFIG.format(root=root, port=port, user=user, modules=MODULES))
    (root / "docs" / "up.json").write_text("{}")
    log = root / "error.log"
    process = subprocess.Popen(
        [str(APACHE), "-f", str(config), "-DFOREGROUND"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, process, log, "/up.json")
        yield url
    finally:
        terminate(process)


def put_file(root: Path, name: str, text: str) -> None:
    """A file the server serves (written as its user), modified now."""
    path = root / "docs" / name
    path.write_text(text)
    if os.geteuid() == 0:
        shutil.chown(path, "www-data", "www-data")
