"""The layers of DESIGN.md hold: a stdlib-only core, adapters that do not lean on each other.

- the core (``httpconflict/_*.py`` and ``__init__``) imports the standard
  library and other core modules only, read from the source;
- ``import httpconflict`` (and its storage package) loads no optional
  dependency, checked in a fresh interpreter;
- importing one adapter loads no other adapter's framework, and the
  adapters import each other only along fastapi -> starlette -> asgi.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "src" / "httpconflict"
CORE = sorted(PACKAGE.glob("_*.py"))
ADAPTERS = ("asgi", "wsgi", "starlette", "fastapi", "django", "flask", "sqlalchemy", "httpx")
# What an adapter may import of the others (fastapi builds on starlette, both on asgi).
ALLOWED = {"fastapi": {"starlette", "asgi"}, "starlette": {"asgi"}}
FRAMEWORKS = {
    "starlette": "starlette",
    "fastapi": "fastapi",
    "django": "django",
    "flask": "flask",
    "sqlalchemy": "sqlalchemy",
    "httpx": "httpx",
}
OPTIONAL = {
    *("starlette", "fastapi", "django", "flask", "werkzeug", "sqlalchemy", "httpx"),
    *("psycopg", "psycopg2", "psycopg_pool", "asyncpg", "pymysql", "MySQLdb", "redis"),
    *("uvicorn", "pydantic", "rich", "rest_framework"),
}


def _imports(path: Path) -> set[str]:
    """Absolute names a module imports, and relative ones as '.name'."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level and node.module:
                found.add("." + node.module)
            elif node.level:  # from . import name
                found.update("." + alias.name for alias in node.names)
            else:
                found.add(node.module or "")
    return found


def test_the_glob_finds_the_core() -> None:
    assert {p.name for p in CORE} >= {"_etag.py", "_write.py", "_integrity.py"}


@pytest.mark.parametrize("module", [*CORE, PACKAGE / "__init__.py"], ids=lambda p: p.name)
def test_the_core_imports_the_standard_library_only(module: Path) -> None:
    for name in _imports(module):
        if name.startswith("."):
            assert name[1:].startswith("_"), f"{module.name} imports the non-core {name}"
        else:
            assert name.split(".")[0] in sys.stdlib_module_names, f"{module.name} imports {name}"


def _loaded_after(statement: str) -> set[str]:
    code = f"import sys, json; {statement}; print(json.dumps(sorted(sys.modules)))"
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return {name.split(".")[0] for name in json.loads(output)}


def test_importing_the_core_loads_nothing_optional() -> None:
    loaded = _loaded_after("import httpconflict, httpconflict.storage")
    assert not loaded & OPTIONAL


def _sources(adapter: str) -> list[Path]:
    """An adapter's files: a module, or every module of a package."""
    module = PACKAGE / f"{adapter}.py"
    return [module] if module.exists() else sorted((PACKAGE / adapter).glob("*.py"))


PRESENT = [name for name in ADAPTERS if _sources(name)]


@pytest.mark.parametrize("adapter", PRESENT)
def test_an_adapter_imports_no_other_adapter(adapter: str) -> None:
    for source in _sources(adapter):
        for name in _imports(source):
            other = name.lstrip(".").split(".")[0]
            if name.startswith(".") and other in ADAPTERS and other != adapter:
                allowed = ALLOWED.get(adapter, set())
                assert other in allowed, f"{source.name} of {adapter} imports {other}"


@pytest.mark.parametrize("adapter", PRESENT)
def test_an_adapter_loads_no_other_framework(adapter: str) -> None:
    pytest.importorskip(FRAMEWORKS.get(adapter, "json"))
    loaded = _loaded_after(f"import httpconflict.{adapter}")
    own = {FRAMEWORKS[a] for a in ({adapter} | ALLOWED.get(adapter, set())) if a in FRAMEWORKS}
    others = {FRAMEWORKS[a] for a in FRAMEWORKS} - own
    assert not loaded & others, f"httpconflict.{adapter} loaded {sorted(loaded & others)}"
