"""The small apps bench/adapters.py measures: one per framework, each with two sides.

Every app reads its setting from the environment: ``ADAPTER_DB`` (a SQLite
file), ``ADAPTER_NOTES`` (how many notes to create, ids 0 to N-1, version 1)
and ``ADAPTER_SIDE``: ``adapter`` (the PUT goes through httpconflict and
needs If-Match) or ``plain`` (the same framework's handler doing an
unconditional UPDATE).
"""

from __future__ import annotations

import os
from typing import Final

SIDES: Final = ("adapter", "plain")


def side() -> str:
    value = os.environ.get("ADAPTER_SIDE", "adapter")
    if value not in SIDES:
        raise SystemExit(f"ADAPTER_SIDE must be adapter or plain, not {value!r}")
    return value


def db_path() -> str:
    return os.environ.get("ADAPTER_DB", "adapter-bench.db")


def note_count() -> int:
    return int(os.environ.get("ADAPTER_NOTES", "4"))
