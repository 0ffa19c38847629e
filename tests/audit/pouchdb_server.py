"""pouchdb-server (the npm package) installed on demand and run in memory as a real server.

pouchdb-server 4.2.0 speaks CouchDB's HTTP API: ``POST /db`` creates a
document and answers its ``id`` and ``rev``, a document carries its
version in the ``_rev`` member, and a write must send back the current
``_rev`` or get 409. Its ETags are Express's weak content hashes. It is
run with ``--in-memory`` (no files), one database made per test. Its
first install takes minutes (about 350 packages); see `tests.audit.npm`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

from tests.audit.npm import NpmPackage, run_node

POUCHDB_SERVER: Final = NpmPackage(
    "pouchdb-server", "4.2.0", "bin/pouchdb-server", install_timeout=300
)


@contextmanager
def run_pouchdb_server(script: Path, workdir: Path) -> Iterator[str]:
    """pouchdb-server on a free 127.0.0.1 port, in memory; yield its URL."""
    with run_node(script, ["--in-memory"], workdir, "/") as url:
        yield url
