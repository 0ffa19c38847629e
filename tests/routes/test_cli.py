"""``httpconflict routes`` end to end, in subprocesses: output, exit codes, loading apps,
and the project's own example apps and service, which have nothing to report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .findings import routes_command

DUPLICATE_APP = """
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

async def first(request):
    return PlainTextResponse("first")

async def second(request):
    return PlainTextResponse("second")

app = Starlette(routes=[Route("/x", first), Route("/x", second)])
print("an app that prints when imported")
"""


def test_json_report() -> None:
    """--json: every finding with its kind, methods, both routes and where they are; exit 1."""
    out = routes_command("tests.routes.apps.fastapi_problems:app", "--json")
    assert out.returncode == 1, out.stderr
    report = json.loads(out.stdout)
    assert report["app"] == "tests.routes.apps.fastapi_problems:app"
    assert report["framework"] == "fastapi"
    assert sorted(f["kind"] for f in report["findings"]) == [
        "doc-mismatch",
        "duplicate",
        "mount-overlap",
        "shadowed",
        "shadowed",
        "shadowed",
    ]
    (shadow,) = (f for f in report["findings"] if f["route"]["path"] == "/users/me")
    assert shadow["methods"] == ["GET"]
    assert shadow["route"]["handler"] == "get_me"
    assert shadow["by"]["path"] == "/users/{user_id}"
    assert shadow["by"]["file"].endswith("fastapi_problems.py")
    assert isinstance(shadow["by"]["line"], int)
    assert "get_user" in shadow["reason"]


def test_table_report() -> None:
    """The table names the kind, method, both paths, handlers and file:line; exit 1."""
    out = routes_command("tests.routes.apps.starlette_problems:app")
    assert out.returncode == 1, out.stderr
    for text in ("shadowed", "duplicate", "mount-overlap", "HEAD", "/users/{user_id}"):
        assert text in out.stdout
    assert "get_me" in out.stdout
    assert "tests/routes/apps/starlette_problems.py:" in out.stdout
    assert "6 problems" in out.stdout


@pytest.mark.parametrize(
    "target",
    [
        "tests.routes.apps.fastapi_clean:app",
        "tests.routes.apps.starlette_clean:app",
        "tests.routes.apps.flask_clean:app",
    ],
)
def test_clean_apps_exit_0(target: str) -> None:
    """No finding: exit 0 and a one-line all-clear."""
    out = routes_command(target)
    assert out.returncode == 0, out.stderr
    assert "no problems found" in out.stdout


def test_a_factory_call() -> None:
    """``MODULE:create_app()`` calls the factory."""
    out = routes_command("tests.routes.apps.flask_problems:create_app()", "--json")
    assert out.returncode == 1, out.stderr
    assert json.loads(out.stdout)["framework"] == "flask"


def test_an_unimportable_module_fails_with_exit_3() -> None:
    """A module that is not there: one clear line naming it, exit 3, no traceback."""
    out = routes_command("no_such_module_here:app")
    assert out.returncode == 3
    assert out.stderr.startswith("httpconflict routes: cannot import 'no_such_module_here'")
    assert "--app-dir" in out.stderr
    assert "Traceback" not in out.stderr
    assert out.stdout == ""


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("plain:nope", "plain has no attribute 'nope'"),
        ("plain:handler", "plain:handler is not a FastAPI, Starlette, Flask or Django app"),
        ("plain", "plain is not a Django settings module"),
        ("broken:app", "importing 'broken' failed: RuntimeError: broken on purpose"),
        ("factory:create_app()", "create_app() failed: ValueError: no database"),
    ],
)
def test_an_app_that_cannot_load_fails_with_exit_3(
    tmp_path: Path, target: str, message: str
) -> None:
    """A missing attribute, an object that is no app, a module raising, a factory raising."""
    (tmp_path / "plain.py").write_text("def handler():\n    return 'not an app'\n")
    (tmp_path / "broken.py").write_text("raise RuntimeError('broken on purpose')\n")
    (tmp_path / "factory.py").write_text("def create_app():\n    raise ValueError('no database')\n")
    out = routes_command(target, "--app-dir", str(tmp_path))
    assert out.returncode == 3, out.stderr
    assert message in out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize("target", ["not a module:app", "pkg.mod:create_app(open('x'))", ":app"])
def test_a_malformed_target_is_a_usage_error(target: str) -> None:
    """Not MODULE:APP, or a factory call with a non-literal argument: exit 2."""
    out = routes_command(target)
    assert out.returncode == 2
    assert out.stderr.startswith("httpconflict routes: ")


def test_the_current_directory_and_app_dir(tmp_path: Path) -> None:
    """MODULE is found in the current directory, as uvicorn does, or in --app-dir;
    what it prints when imported does not spoil the report."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "myapp.py").write_text(DUPLICATE_APP)
    assert routes_command("myapp:app", cwd=project).returncode == 1
    assert routes_command("myapp:app", cwd=tmp_path).returncode == 3
    assert routes_command("myapp:app", "--app-dir", str(project), cwd=tmp_path).returncode == 1
    # What the app prints goes to stderr: the JSON report stays whole.
    out = routes_command("myapp:app", "--json", cwd=project)
    assert json.loads(out.stdout)["findings"][0]["kind"] == "duplicate"
    assert "an app that prints" in out.stderr


def test_help() -> None:
    """``routes --help`` documents MODULE:APP, --app-dir and --json."""
    out = routes_command("--help")
    assert out.returncode == 0
    for text in ("MODULE:APP", "--app-dir", "--json", "create_app()"):
        assert text in out.stdout


@pytest.mark.parametrize(
    ("target", "framework"),
    [
        pytest.param(
            "examples.fastapi_app.app:create_app({db!r})", "fastapi", id="fastapi-example"
        ),
        pytest.param("examples.flask_app:create_app({db!r})", "flask", id="flask-example"),
        pytest.param("examples.django_app.settings", "django", id="django-example"),
        pytest.param("httpconflict.service.app:create_app()", "starlette", id="service"),
    ],
)
def test_the_projects_own_apps_are_clean(tmp_path: Path, target: str, framework: str) -> None:
    """The three example apps and the document service: routes read, nothing reported."""
    db = str(tmp_path / "routes.db")
    env = {"HTTPCONFLICT_DB": db, "EXAMPLE_DJANGO_DB": db}
    out = routes_command(target.format(db=db), "--json", env=env)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["framework"] == framework
    assert report["findings"] == []
    assert report["notes"] == []
    assert report["routes"] >= 6


def test_an_80_column_report_cuts_nothing() -> None:
    """In 80 columns (a CI log), nothing is cut with an ellipsis: the reason names the route
    never served and the one that takes its requests, each with its handler and file:line."""
    out = routes_command("tests.routes.apps.fastapi_controller:app", env={"COLUMNS": "80"})
    assert out.returncode == 1, out.stderr
    assert "…" not in out.stdout
    source = Path("tests/routes/apps/fastapi_controller.py").read_text(encoding="utf-8")
    lines = source.splitlines()

    def line_of(text: str) -> int:
        return next(number for number, line in enumerate(lines, 1) if text in line)

    for handler, where in (
        ("RecipeCategoryController.get_all_empty", line_of("def get_all_empty")),
        ("RecipeCategoryController.get_one", line_of("def get_one")),
    ):
        assert handler in out.stdout
        assert f"tests/routes/apps/fastapi_controller.py:{where - 1}" in out.stdout


@pytest.mark.parametrize(
    ("source", "code"),
    [
        pytest.param('print("serving")\nraise SystemExit(0)\n', "0", id="exit-0"),
        pytest.param('import sys\nsys.exit("APP_DATABASE_URL is not set")\n', "'APP", id="message"),
        pytest.param(
            "import argparse\nargparse.ArgumentParser().parse_args(['--port'])\n",
            "2",
            id="argparse",
        ),
    ],
)
def test_an_app_that_exits_when_imported_fails_with_exit_3(
    tmp_path: Path, source: str, code: str
) -> None:
    """The app's own sys.exit is not the tool's exit: 0 passed a CI step that checked nothing,
    a message gave 1 ("findings"), argparse's 2 ("usage"). Exit 3, saying what happened."""
    (tmp_path / "exits.py").write_text(source, encoding="utf-8")
    out = routes_command("exits:app", "--app-dir", str(tmp_path))
    assert out.returncode == 3, (out.stdout, out.stderr)
    assert "exited (sys.exit(" + code in out.stderr
    assert "__main__" in out.stderr
    assert out.stdout == ""


SERVES_AT_IMPORT = """
import uvicorn
from starlette.applications import Starlette

app = Starlette()
uvicorn.run(app, host="127.0.0.1", port=0, log_level="warning")
"""


def test_an_app_that_serves_when_imported_fails_with_exit_3(tmp_path: Path) -> None:
    """A module that starts its server when imported never returns: the tool hung for ever.
    It gives up after --load-timeout seconds, saying why, exit 3 (uvloop's loop swallows an
    exception raised by a signal handler: the tool exits at once)."""
    (tmp_path / "serving.py").write_text(SERVES_AT_IMPORT, encoding="utf-8")
    out = routes_command("serving:app", "--app-dir", str(tmp_path), "--load-timeout", "2")
    assert out.returncode == 3, (out.stdout, out.stderr)
    assert "took over 2 s" in out.stderr
    assert "__main__" in out.stderr
    assert out.stdout == ""
