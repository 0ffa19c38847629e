"""The previous release's Django names still work for one release, each with a warning.

Run in a process of its own (django_renamed.py), since Django is
configured once per process.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("django")

ROOT = Path(__file__).parent.parent.parent


@pytest.fixture(scope="module")
def found(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What each old and new call gave, and warned."""
    db = tmp_path_factory.mktemp("django-renamed") / "notes.db"
    output = subprocess.run(
        [sys.executable, "-m", "tests.adapters.django_renamed", str(db)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    result: dict[str, Any] = json.loads(output)
    return result


def test_the_old_update_order_returns_the_row_with_a_warning(
    found: dict[str, Any],
) -> None:
    """versioned_update(queryset, pk, request, values): the row, as before, and a warning."""
    assert found["old_update_row"] == ["Note", "b", 2]
    assert len(found["old_update"]) == 1
    assert "versioned_update(model, key, values, conditions).row" in str(found["old_update"][0])


def test_the_new_update_order_returns_a_versioned_row(found: dict[str, Any]) -> None:
    """versioned_update(model, key, values, conditions): the row and its ETag, no warning."""
    assert found["new_update_row"] == ["c", '"3"', True]
    assert found["new_update"] == []


def test_the_old_patch_order_returns_the_pair_with_a_warning(
    found: dict[str, Any],
) -> None:
    """versioned_patch(queryset, pk, request, patch): (row, decision), as before, and a warning."""
    assert found["old_patch_pair"] == ["d", "written"]
    assert len(found["old_patch"]) == 1


def test_the_new_patch_order_returns_a_versioned_row(found: dict[str, Any]) -> None:
    """versioned_patch(model, key, patch, conditions): the shape SQLAlchemy's returns."""
    assert found["new_patch_row"] == ["d", '"4"', False]
    assert found["new_patch"] == []


def test_version_etag_and_error_response_warn(found: dict[str, Any]) -> None:
    """version_etag is etag_of, error_response is problem_response: each warns."""
    assert found["etag_of"] == [True]
    assert ["etag_of(row)" in str(m) for m in found["version_etag"]] == [True]
    assert found["error_response_status"] == 412
    assert ["problem_response(error)" in str(m) for m in found["error_response"]] == [True]
