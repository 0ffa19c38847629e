"""Without an extra, each command says which one to install, in one line: never a traceback.

A real process whose optional packages are made missing: a
``sitecustomize`` in a temporary directory on its PYTHONPATH puts a
finder first on ``sys.meta_path`` that refuses the modules named in
``BLOCK``, as Python refuses a module that is not installed.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from httpconflict._extras import MissingExtra, require
from tests.command_line import httpconflict, python
from tests.servers import free_port

BLOCKER = """\
import os, sys
from importlib.abc import MetaPathFinder

BLOCKED = set(filter(None, os.environ.get("BLOCK", "").split(",")))


class Missing(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, Missing())
"""

OPTIONAL = (
    "uvicorn,starlette,jwt,rich,httpx,psycopg,psycopg_pool,redis,fastapi,django,flask,"
    "werkzeug,sqlalchemy,rest_framework"
)


def without(
    blocked: str,
    *args: str,
    tmp_path: Path,
    stdin: str = "",
    run: Callable[..., subprocess.CompletedProcess[str]] = httpconflict,
) -> subprocess.CompletedProcess[str]:
    """Run ``httpconflict ARGS`` (or `run` ARGS) where the modules `blocked` are missing."""
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(BLOCKER)
    return run(*args, cwd=tmp_path, stdin=stdin, env={"BLOCK": blocked}, path=(str(site),))


def advice(command: str, extra: str) -> str:
    return (
        f"httpconflict {command} needs the {extra!r} extra: pip install 'httpconflict[{extra}]'\n"
    )


def test_help_needs_no_extra(tmp_path: Path) -> None:
    """`httpconflict --help` and every command's --help work with no optional package at all."""
    for command in ((), ("serve",), ("token",), ("diagnose",), ("audit",), ("routes",), ("logs",)):
        done = without(OPTIONAL, *command, "--help", tmp_path=tmp_path)
        assert done.returncode == 0, done.stderr
        assert done.stderr == ""


@pytest.mark.parametrize(
    ("blocked", "args", "command", "extra", "status"),
    [
        pytest.param("uvicorn", ["serve"], "serve", "service", 1, id="serve-uvicorn"),
        pytest.param("starlette", ["serve"], "serve", "service", 1, id="serve-starlette"),
        pytest.param(
            "psycopg",
            ["serve", "--db", "postgresql://postgres@127.0.0.1:5432/test"],
            "serve",
            "postgres",
            1,
            id="serve-postgres",
        ),
        pytest.param(
            "redis",
            ["serve", "--idempotency", "redis://127.0.0.1:6379/0"],
            "serve",
            "redis",
            1,
            id="serve-redis",
        ),
        pytest.param(
            "psycopg",
            ["token", "list", "--db", "postgresql://postgres@127.0.0.1:5432/test"],
            "token",
            "postgres",
            3,
            id="token-postgres",
        ),
        pytest.param("rich", ["diagnose"], "diagnose", "tools", 3, id="diagnose-rich"),
        pytest.param("rich", ["logs", "-"], "logs", "tools", 3, id="logs-rich"),
        pytest.param(
            "httpx", ["audit", "http://127.0.0.1:1/v1/x"], "audit", "tools", 3, id="audit-httpx"
        ),
        pytest.param("rich", ["routes", "app:app"], "routes", "tools", 3, id="routes-rich"),
    ],
)
def test_a_missing_extra_is_named(
    tmp_path: Path, blocked: str, args: list[str], command: str, extra: str, status: int
) -> None:
    """One line naming the extra and how to install it; the command's failure status."""
    (tmp_path / "app.py").write_text("from flask import Flask\napp = Flask(__name__)\n")
    if command == "serve" and "--port" not in args:
        args = [*args, "--port", str(free_port())]
    done = without(blocked, *args, tmp_path=tmp_path, stdin="HTTP/1.1 409 Conflict\n")
    assert done.stderr == advice(command, extra)
    assert done.returncode == status


#: Each module a user imports, and the extra it needs.
LIBRARY = {
    "httpconflict.starlette": "starlette",
    "httpconflict.fastapi": "fastapi",
    "httpconflict.flask": "flask",
    "httpconflict.flask.forms": "flask-forms",
    "httpconflict.django": "django",
    "httpconflict.django.rest_framework": "drf",
    "httpconflict.sqlalchemy": "sqlalchemy",
    "httpconflict.httpx": "httpx",
    "httpconflict.storage.postgres": "postgres",
    "httpconflict.storage.idempotency.redis": "redis",
    "httpconflict.service.app": "service",
}

#: The extras of modules that need another extra's package too: each is named when only
#: its own package is missing.
_EXTRA_ALONE = {"rest_framework": "drf", "wtforms": "flask-forms"}

IMPORT_EACH = """\
import importlib, sys
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except ImportError as error:
        print(f"{name}|{type(error).__name__}|{error}")
    else:
        print(f"{name}|imported")
"""


@pytest.mark.parametrize(
    "blocked",
    [
        pytest.param(OPTIONAL, id="all-missing"),
        # The DRF module needs Django itself: its extra is named when only DRF is missing;
        # so do Flask's forms need Flask, and theirs when only WTForms is missing.
        pytest.param("rest_framework", id="drf-missing"),
        pytest.param("wtforms", id="flask-forms-missing"),
    ],
)
def test_an_import_names_its_extra(tmp_path: Path, blocked: str) -> None:
    """Importing an adapter or store without its extra: an ImportError naming the extra."""
    alone = _EXTRA_ALONE.get(blocked)
    modules = [
        m
        for m, extra in LIBRARY.items()
        if extra == alone or (alone is None and extra not in _EXTRA_ALONE.values())
    ]
    done = without(blocked, "-c", IMPORT_EACH, *modules, tmp_path=tmp_path, run=python)
    assert done.returncode == 0, done.stderr
    answers = dict(line.split("|", 1) for line in done.stdout.splitlines())
    assert set(answers) == set(modules)
    for module in modules:
        extra = LIBRARY[module]
        assert answers[module] == (
            f"MissingExtra|{module} needs the {extra!r} extra: pip install 'httpconflict[{extra}]'"
        )


def test_require_names_the_extra() -> None:
    """At library level, a missing module is a MissingExtra (an ImportError) naming the extra."""
    with pytest.raises(ImportError) as raised:
        require("json", "no_such_module_here", extra="service", user="httpconflict.service")
    assert isinstance(raised.value, MissingExtra)
    assert isinstance(raised.value, ModuleNotFoundError)
    assert raised.value.name == "no_such_module_here"
    assert str(raised.value) == (
        "httpconflict.service needs the 'service' extra: pip install 'httpconflict[service]'"
    )
