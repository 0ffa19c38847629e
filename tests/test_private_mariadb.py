"""A MariaDB server of a test's own leaves the machine's MariaDB's temporary tables alone.

At start a server deletes every ``#sql*`` file in its tmpdir. In /tmp those
are the temporary tables of the machine's MariaDB (its tmpdir), in use by
other tests' queries, one of which then failed with "Error on delete of
'/tmp/#sql-temptable-...'". A private server has a tmpdir of its own.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest

from tests.conftest import need
from tests.private_mariadb import SERVER_USER, PrivateMariaDB, mariadb_programs


@pytest.mark.skipif(os.geteuid() != 0, reason="the probe must belong to the server's user")
def test_a_private_server_deletes_no_temporary_table_of_the_machines() -> None:
    programs = mariadb_programs()
    if isinstance(programs, str):
        need(programs + "; install them to run this test")
    probe = Path(tempfile.gettempdir()) / f"#sql-temptable-hc-{uuid.uuid4().hex}.MAD"
    probe.touch()
    try:
        shutil.chown(probe, SERVER_USER)
        server = PrivateMariaDB(*programs)
        try:
            server.start()
        finally:
            server.remove()
        assert probe.exists(), "the private server deleted a temporary table of another server"
    finally:
        probe.unlink(missing_ok=True)
