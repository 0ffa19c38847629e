"""The package is typed for its users: py.typed in the wheel, and a user's app passes mypy --strict.

The wheel is the one `make dist` built (dist/), when it is newer than
every file it is made from; else it is built from this tree. It is
unpacked into a fresh virtual environment that sees the project's installed frameworks (FastAPI,
SQLAlchemy, Flask, httpx...) but not this source tree, so mypy finds
httpconflict the way it finds it in a user's project: as an installed
package, typed only if it says so (PEP 561). tests/typing_app/app.py
imports every adapter and carries no ``# type: ignore``.

mypy starts from a copy of the project's own cache (`make lint` runs mypy
before the tests), as a user's mypy starts from theirs: a module whose
source hashes as the cached one's does, wherever it now lies, is taken
from the cache (and a changed one analysed again), so the standard
library and the frameworks are not analysed anew, 8.3 s of CPU a run. How
mypy finds the package (PEP 561: installed, typed only with the marker)
is not cached: the control without the marker still sees it untyped.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
APP = ROOT / "tests" / "typing_app" / "app.py"

# Looked for, not imported: mypy's compiled modules took 0.9 s to load, in every
# worker that collects this module (and mypy runs as a program of its own).
for _needed in ("hatchling", "mypy"):
    if importlib.util.find_spec(_needed) is None:
        pytest.skip(f"could not import {_needed!r}", allow_module_level=True)


#: What the wheel is made of: a wheel in dist/ newer than all of it is this tree's.
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "src")


def _built_from_this_tree() -> Path | None:
    """dist/'s wheel, if no file it is made of changed since it was built."""
    found = sorted((ROOT / "dist").glob("httpconflict-*.whl"))
    if len(found) != 1:
        return None
    inputs = [ROOT / name for name in SOURCES]
    files = [f for i in inputs for f in ([i] if i.is_file() else i.rglob("*")) if f.is_file()]
    newest = max(f.stat().st_mtime for f in files if "__pycache__" not in f.parts)
    return found[0] if found[0].stat().st_mtime > newest else None


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel of this tree: `make dist`'s if it is up to date, else built as it builds it."""
    up_to_date = _built_from_this_tree()
    if up_to_date is not None:
        return up_to_date
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


@pytest.fixture(scope="module")
def mypy_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The module's mypy cache: a copy of the project's, if it has one, that mypy may change."""
    cache = tmp_path_factory.mktemp("mypy") / "cache"
    project = ROOT / ".mypy_cache"
    if project.is_dir():
        try:
            shutil.copytree(project, cache, copy_function=_link_or_copy)
        except (OSError, shutil.Error):  # a mypy run changed it meanwhile: start without
            shutil.rmtree(cache, ignore_errors=True)
    return cache


def _link_or_copy(source: str, destination: str) -> None:
    """A hard link where it can be: mypy replaces a cache file by renaming, never writes into it."""
    try:
        os.link(source, destination)
    except OSError:
        shutil.copy2(source, destination)


def _mypy(python: Path, app: Path, cwd: Path, cache: Path) -> subprocess.CompletedProcess[str]:
    """mypy --strict on `app`, in a directory with no configuration, as `python`'s user."""
    environment = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MYPYPATH")}
    return subprocess.run(
        [
            *(sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(cache)),
            *("--python-executable", str(python), app.name),
        ],
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
def test_a_user_app_importing_every_adapter_passes_mypy_strict(
    wheel: Path, tmp_path: Path, mypy_cache: Path
) -> None:
    """tests/typing_app/app.py, against the installed wheel: no error, no ignore."""
    source = APP.read_text()
    assert "type: ignore" not in source
    python = _installed(wheel, tmp_path / "venv")
    user = tmp_path / "user"
    user.mkdir()
    (user / "app.py").write_text(source)
    checked = _mypy(python, user / "app.py", user, mypy_cache)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.startswith("Success")


def test_without_the_marker_mypy_calls_the_package_untyped(
    wheel: Path, tmp_path: Path, mypy_cache: Path
) -> None:
    """The control: the same install less py.typed is what users had, every import untyped."""
    python = _installed(wheel, tmp_path / "venv", without="httpconflict/py.typed")
    user = tmp_path / "user"
    user.mkdir()
    (user / "app.py").write_text("from httpconflict import ETag\n\nETag('1')\n")
    checked = _mypy(python, user / "app.py", user, mypy_cache)
    assert checked.returncode == 1
    assert "missing library stubs or py.typed marker" in checked.stdout
