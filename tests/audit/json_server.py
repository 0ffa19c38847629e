"""json-server (the npm package) installed on demand and run as a real server.

json-server 0.17.4 is the last release of the 0.x line: its CLI
(``json-server db.json --host H --port P``) is stable and it runs on
Node >= 12; the 1.0 betas changed both. See `tests.audit.npm` for where
it is installed and when the test skips.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

from tests.audit.npm import NpmPackage, run_node

JSON_SERVER: Final = NpmPackage("json-server", "0.17.4", "lib/cli/bin.js")


@contextmanager
def run_json_server(script: Path, workdir: Path, collection: str) -> Iterator[tuple[str, Path]]:
    """json-server on a free 127.0.0.1 port over a fresh db.json; yield (URL, db path)."""
    db = workdir / "db.json"
    db.write_text(json.dumps({collection: []}))
    with run_node(script, [str(db)], workdir, f"/{collection}") as url:
        yield url, db
