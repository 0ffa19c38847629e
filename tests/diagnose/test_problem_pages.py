"""GET /problems/{slug} on a real service process: the problem type pages.

The pages need no database, so one SQLite service serves this module.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from httpconflict._problem import MERGE_CONFLICT, PROBLEM_TYPE_BASE, PROBLEM_TYPES
from httpconflict.service.problem_pages import prefers_json
from tests.diagnose.test_page import Page
from tests.problems import assert_problem
from tests.servers import start_service


@pytest.fixture(scope="module")
def http(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    db = str(tmp_path_factory.mktemp("db") / "pages.db")
    with start_service(db, tmp_path_factory.mktemp("log")) as service, service.client() as client:
        yield client


def test_every_problem_type_has_a_page(http: httpx.Client) -> None:
    """Each slug of PROBLEM_TYPES answers an HTML page with its title, cause and HowTo."""
    for slug, problem_type in PROBLEM_TYPES.items():
        response = http.get(f"/problems/{slug}")
        assert response.status_code == 200, slug
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        page = Page(response.text)
        text = " ".join(page.text)
        assert problem_type.title in text
        # Code spans are elements of their own: compare the words.
        assert " ".join(problem_type.cause.replace("`", "").split()) in " ".join(text.split())
        (howto,) = page.jsonld
        assert howto["@type"] == "HowTo"
        assert howto["url"] == problem_type.uri
        assert howto["step"], slug


def test_json_for_a_client_that_prefers_it(http: httpx.Client) -> None:
    """Accept: application/json gets the same content as JSON, and Vary says so."""
    response = http.get("/problems/merge-conflict", headers={"Accept": "application/json"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["vary"] == "Accept, Accept-Encoding"
    document = response.json()
    assert document["type"] == MERGE_CONFLICT.uri
    assert document["slug"] == "merge-conflict"
    assert document["status"] == 409
    assert document["title"] == MERGE_CONFLICT.title
    assert document["steps"]
    assert [s["text"] for s in document["howto"]["step"]] == [
        s.replace("`", "") for s in document["steps"]
    ]


def test_an_unknown_slug_is_a_404_problem(http: httpx.Client) -> None:
    """A slug no problem type has: 404 not-found problem+json."""
    problem = assert_problem(http.get("/problems/no-such-problem"), 404, "not-found")
    assert "no-such-problem" in problem["detail"]


def test_a_page_is_cached_and_revalidated(http: httpx.Client) -> None:
    """A page has a strong ETag; If-None-Match with it answers 304, per representation."""
    response = http.get("/problems/precondition-failed")
    etag = response.headers["etag"]
    assert not etag.startswith("W/")
    again = http.get("/problems/precondition-failed", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.headers["etag"] == etag
    as_json = http.get(
        "/problems/precondition-failed",
        headers={"If-None-Match": etag, "Accept": "application/json"},
    )
    assert as_json.status_code == 200
    assert as_json.headers["etag"] != etag
    assert_problem(
        http.get("/problems/precondition-failed", headers={"If-None-Match": "nope"}),
        400,
        "malformed-header",
    )


def test_a_problem_type_uri_resolves_on_the_service(http: httpx.Client) -> None:
    """The path of the type of a problem the service answers is that problem's page."""
    problem = assert_problem(http.get("/v1/notes/missing-document"), 404, "not-found")
    path = urlsplit(problem["type"]).path
    assert problem["type"] == PROBLEM_TYPE_BASE + "not-found"
    page = http.get(path)
    assert page.status_code == 200
    assert "Not found" in " ".join(Page(page.text).text)


def test_the_openapi_document_lists_the_pages(http: httpx.Client) -> None:
    """/openapi.json documents GET /problems/{slug}, its slugs and its two representations."""
    spec = http.get("/openapi.json").json()
    operation = spec["paths"]["/problems/{slug}"]
    (slug,) = operation["parameters"]
    assert set(slug["schema"]["enum"]) == set(PROBLEM_TYPES)
    content = operation["get"]["responses"]["200"]["content"]
    assert set(content) == {"text/html", "application/json"}
    assert {"200", "304", "400", "404"} == set(operation["get"]["responses"])


@pytest.mark.parametrize(
    ("accept", "json"),
    [
        pytest.param("", False, id="none"),
        pytest.param("*/*", False, id="anything"),
        pytest.param("application/json", True, id="json"),
        pytest.param(
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", False, id="browser"
        ),
        pytest.param("application/json, text/html;q=0.5", True, id="json-first"),
        pytest.param("text/html;q=0.5, application/json;q=0.9", True, id="json-higher-q"),
        pytest.param("application/json;q=0.5, text/html;q=0.5", False, id="tie-is-html"),
        pytest.param("application/json;q=0", False, id="json-refused"),
        pytest.param("application/json;q=nope", False, id="bad-q"),
    ],
)
def test_prefers_json(accept: str, json: bool) -> None:
    """Content negotiation: HTML unless Accept ranks application/json higher."""
    assert prefers_json(accept) is json


def test_the_page_module_is_in_the_service_package() -> None:
    """The route's module sits beside the service's other modules."""
    import httpconflict.service.problem_pages as module

    assert Path(module.__file__).parent.name == "service"


def test_a_worker_imports_diagnose_at_its_first_page_not_as_it_starts(tmp_path: Path) -> None:
    """Making the service's app loads none of diagnose's modules; the first page request does.

    Every worker of every start pays for what it imports (bench/start.py),
    and the knowledge base serves /problems/{type} alone.
    """
    code = (
        "import json, sys\n"
        "from starlette.testclient import TestClient\n"
        "from httpconflict.service.app import create_app\n"
        "def tools(): return sorted(m for m in sys.modules if m.startswith('httpconflict.tools'))\n"
        "app = create_app()\n"
        "made = tools()\n"
        "with TestClient(app, base_url='http://127.0.0.1') as client:\n"
        "    assert client.get('/problems/merge-conflict').status_code == 200\n"
        "with open(sys.argv[1], 'w') as out: json.dump([made, tools()], out)\n"
    )
    environment = {**os.environ, "HTTPCONFLICT_DB": str(tmp_path / "pages.db")}
    found = tmp_path / "modules.json"
    subprocess.run([sys.executable, "-c", code, str(found)], env=environment, check=True)
    made, after_a_page = json.loads(found.read_text())
    assert not [m for m in made if m.startswith("httpconflict.tools.diagnose")]
    assert "httpconflict.tools.diagnose.knowledge" in after_a_page
