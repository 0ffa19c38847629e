"""One running server per target, shared by the whole suite."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import cast

import pytest

from tests.conformance.targets import STARTERS, Target, available


@pytest.fixture(scope="package", params=available())
def target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Target]:
    name: str = request.param
    start = STARTERS[name]
    log_dir = tmp_path_factory.mktemp(f"conformance-{name}")
    with cast(AbstractContextManager[str], start(log_dir)) as url:
        yield Target(name, url)
