"""The package is typed for its users: py.typed in the wheel, and a user's app passes mypy --strict.

The wheel is built from this tree and unpacked into a fresh virtual
environment that sees the project's installed frameworks (FastAPI,
SQLAlchemy, Flask, httpx...) but not this source tree, so mypy finds
httpconflict the way it finds it in a user's project: as an installed
package, typed only if it says so (PEP 561). tests/typing_app/app.py
imports every adapter and carries no ``# type: ignore``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
APP = ROOT / "tests" / "typing_app" / "app.py"

pytest.importorskip("hatchling")
pytest.importorskip("mypy")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel of this tree, built as `python -m build` builds it (without isolation)."""
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=120,
    )
    (built,) = out.glob("httpconflict-*.whl")
    return built


def _installed(wheel: Path, where: Path, *, without: str | None = None) -> Path:
    """A fresh venv with `wheel` unpacked in it (less `without`), seeing the project's packages."""
    venv.create(where, with_pip=False)
    purelib = Path(sysconfig.get_path("purelib", vars={"base": str(where), "platbase": str(where)}))
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(purelib, [n for n in archive.namelist() if n != without])
    # The frameworks the app imports, from the project's venv (not its .pth files).
    (purelib / "project.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return where / "bin" / "python"


def _mypy(python: Path, app: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """mypy --strict on `app`, in a directory with no configuration, as `python`'s user."""
    environment = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MYPYPATH")}
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--python-executable", str(python), app.name],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_the_wheel_carries_py_typed(wheel: Path) -> None:
    """PEP 561: the marker is in the package, so type checkers read its annotations."""
    assert "httpconflict/py.typed" in zipfile.ZipFile(wheel).namelist()


@pytest.mark.slow
def test_a_user_app_importing_every_adapter_passes_mypy_strict(wheel: Path, tmp_path: Path) -> None:
    """tests/typing_app/app.py, against the installed wheel: no error, no ignore."""
    source = APP.read_text()
    assert "type: ignore" not in source
    python = _installed(wheel, tmp_path / "venv")
    user = tmp_path / "user"
    user.mkdir()
    (user / "app.py").write_text(source)
    checked = _mypy(python, user / "app.py", user)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.startswith("Success")


def test_without_the_marker_mypy_calls_the_package_untyped(wheel: Path, tmp_path: Path) -> None:
    """The control: the same install less py.typed is what users had, every import untyped."""
    python = _installed(wheel, tmp_path / "venv", without="httpconflict/py.typed")
    user = tmp_path / "user"
    user.mkdir()
    (user / "app.py").write_text("from httpconflict import ETag\n\nETag('1')\n")
    checked = _mypy(python, user / "app.py", user)
    assert checked.returncode == 1
    assert "missing library stubs or py.typed marker" in checked.stdout
