"""Fixtures of the client's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.hostile_http import HostileFeed, hostile_server


@pytest.fixture
def feed() -> Iterator[HostileFeed]:
    """A hand-written change feed on 127.0.0.1 (its `script` says what each stream sends)."""
    with hostile_server(HostileFeed()) as running:
        yield running
