"""The layers of DESIGN.md hold: a stdlib-only core, adapters that do not lean on each other.

- the core (``httpconflict/_*.py`` and ``__init__``) imports the standard
  library and other core modules only, read from the source;
- ``import httpconflict`` (and its storage package) loads no optional
  dependency, checked in a fresh interpreter;
- importing one adapter loads no other adapter's framework, and the
  adapters import each other only along fastapi -> starlette -> asgi;
- the service, the tools and the command line are built on the public API only: they import
  no private module (``_name``) and no private name of the library (the
  core, the adapters, the stores), so what they need is there for users
  too. Their own private modules (the command line's argument types, the
  tools' output) they share.
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
#: Public modules that only give the core's names a home of their own.
CORE_FACES = (
    *("changes", "problem_types", "access", "hosts", "incidents", "outage", "redaction"),
    "extras",
)
ADAPTERS = ("asgi", "wsgi", "starlette", "fastapi", "django", "flask", "sqlalchemy", "httpx")
# What an adapter may import of the others (fastapi builds on starlette, both on asgi;
# flask on wsgi, which imports no framework: `install`'s read caching is WSGI middleware).
ALLOWED = {"fastapi": {"starlette", "asgi"}, "starlette": {"asgi"}, "flask": {"wsgi"}}
# One module may also use another adapter's public API: Flask's forms save SQLAlchemy rows
# (Flask-SQLAlchemy is Flask's ORM). ``import httpconflict.flask`` still loads no SQLAlchemy.
ALLOWED_IN = {"flask/_form_save.py": {"sqlalchemy"}}
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


@pytest.mark.parametrize(
    "module",
    [*CORE, PACKAGE / "__init__.py", *(PACKAGE / f"{face}.py" for face in CORE_FACES)],
    ids=lambda p: p.name,
)
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
    faces = ", ".join(f"httpconflict.{face}" for face in CORE_FACES)
    loaded = _loaded_after(f"import httpconflict, httpconflict.storage, {faces}")
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
                where = source.relative_to(PACKAGE).as_posix()
                allowed = ALLOWED.get(adapter, set()) | ALLOWED_IN.get(where, set())
                assert other in allowed, f"{source.name} of {adapter} imports {other}"


@pytest.mark.parametrize("adapter", PRESENT)
def test_an_adapter_loads_no_other_framework(adapter: str) -> None:
    pytest.importorskip(FRAMEWORKS.get(adapter, "json"))
    loaded = _loaded_after(f"import httpconflict.{adapter}")
    own = {FRAMEWORKS[a] for a in ({adapter} | ALLOWED.get(adapter, set())) if a in FRAMEWORKS}
    others = {FRAMEWORKS[a] for a in FRAMEWORKS} - own
    assert not loaded & others, f"httpconflict.{adapter} loaded {sorted(loaded & others)}"


# -- the service and the tools: the public API only --------------------------------------

APPLICATIONS = ("service", "tools")


def _module_parts(path: Path) -> tuple[list[str], bool]:
    """The dotted name of a source file as parts, and whether it is a package's __init__."""
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        return parts[:-1], True
    return parts, False


def private_uses(source: str, module: list[str], is_package: bool) -> list[str]:
    """What `source` (module `module`) imports that is private to the library.

    Each import is resolved to an absolute name; a module or name any of
    whose parts starts with ``_`` is private, unless it lies inside the
    applications themselves (``httpconflict.tools._arguments`` is the
    command line's own).
    """
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            targets = [alias.name.split(".") for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                keep = len(module) - node.level + (1 if is_package else 0)
                base = module[:keep] + (node.module.split(".") if node.module else [])
            else:
                base = (node.module or "").split(".")
            targets = [[*base, alias.name] for alias in node.names]
        else:
            continue
        for target in targets:
            if target[0] != "httpconflict" or (len(target) > 1 and target[1] in APPLICATIONS):
                continue
            if any(part.startswith("_") for part in target[1:]):
                found.append(".".join(target))
    return found


#: The applications' sources, and the command line that runs them.
APPLICATION_SOURCES = sorted(
    [PACKAGE / "cli.py", *(p for app in APPLICATIONS for p in (PACKAGE / app).rglob("*.py"))]
)


def test_the_applications_glob_finds_their_sources() -> None:
    """The service and the tools are both read, so the check below is not silently empty."""
    names = {p.relative_to(PACKAGE).as_posix() for p in APPLICATION_SOURCES}
    assert {"cli.py", "service/app.py", "service/documents.py", "tools/__init__.py"} <= names


@pytest.mark.parametrize(
    "source", APPLICATION_SOURCES, ids=lambda p: p.relative_to(PACKAGE).as_posix()
)
def test_the_service_and_the_tools_use_the_public_api_only(source: Path) -> None:
    """No `from .._write import ...`: what the service needs is public, so users have it too."""
    module, is_package = _module_parts(source)
    assert private_uses(source.read_text(), module, is_package) == []


@pytest.mark.parametrize(
    ("line", "private"),
    [
        pytest.param("from .._write import Guard", ["httpconflict._write.Guard"], id="core"),
        pytest.param("from .. import _problem", ["httpconflict._problem"], id="module-as-name"),
        pytest.param(
            "from ..storage._documents import from_micros",
            ["httpconflict.storage._documents.from_micros"],
            id="an-adapter-s-private-module",
        ),
        pytest.param(
            "from ..starlette import _phrase", ["httpconflict.starlette._phrase"], id="name"
        ),
        pytest.param("import httpconflict._etag", ["httpconflict._etag"], id="absolute"),
        pytest.param("from .. import ETag", [], id="public"),
        pytest.param("from ..problem_types import NOT_FOUND", [], id="public-module"),
        pytest.param("from ..tools._arguments import name", [], id="the-applications-own"),
    ],
)
def test_the_public_api_check_tells_private_from_public(line: str, private: list[str]) -> None:
    """The check itself, on a module of the service."""
    module = ["httpconflict", "service", "documents"]
    assert private_uses(line, module, is_package=False) == private
