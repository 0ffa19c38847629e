"""FastAPI and Starlette apps: every known problem found, nothing reported in clean apps,
and the app itself agrees on which handler serves each lost route."""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from types import ModuleType

import pytest

from httpconflict.tools.routes._model import Kind
from httpconflict.tools.routes._report import reason

from .apps import (
    fastapi_clean,
    fastapi_mounted_docs,
    fastapi_problems,
    fastapi_router_twice,
    starlette_clean,
    starlette_problems,
)
from .findings import asgi_body, asgi_endpoint, findings_of, rows


def test_fastapi_problems() -> None:
    """Each problem of the FastAPI app, with its kind and the pair of routes."""
    assert rows(findings_of(fastapi_problems.app)) == {
        ("doc-mismatch", "GET", "/items", "list_items_v2", "/items", "list_items"),
        ("duplicate", "GET", "/reports", "reports_legacy", "/reports", "reports"),
        ("shadowed", "GET", "/users/me", "get_me", "/users/{user_id}", "get_user"),
        ("shadowed", "GET", "/files/index", "files_index", "/files/{file_path:path}", "get_file"),
        ("shadowed", "GET", "/orders/latest", "latest_order", "/orders/{order_id}", "get_order"),
        ("mount-overlap", "GET", "/admin/stats", "admin_stats", "/admin/{path:path}", "Starlette"),
    }


def test_starlette_problems() -> None:
    """Each problem of the Starlette app, with its kind and the pair of routes."""
    assert rows(findings_of(starlette_problems.app)) == {
        ("shadowed", "GET", "/users/me", "get_me", "/users/{user_id}", "get_user"),
        ("duplicate", "GET", "/health", "health_v2", "/health", "health"),
        ("duplicate", "HEAD", "/page", "page_head", "/page", "page"),
        ("mount-overlap", "GET", "/api/extra", "api_extra", "/api/{path:path}", "Router"),
        ("mount-overlap", "*", "/api/v2/{path:path}", "Router", "/api/{path:path}", "Router"),
        ("shadowed", "GET", "/docs/index", "docs_index", "/docs/{rest:path}", "docs_page"),
    }


@pytest.mark.parametrize(
    "module", [fastapi_problems, starlette_problems], ids=["fastapi", "starlette"]
)
def test_the_app_serves_what_the_findings_say(module: ModuleType) -> None:
    """Requesting each lost literal route reaches the route the finding names instead."""
    app = module.app
    checked = 0
    for finding in findings_of(app):
        path = finding.route.pattern.literal_path
        if path is None or finding.methods is None:
            continue
        for method in finding.methods:
            served = asgi_endpoint(app, method, path)
            assert served == finding.by.definition.handler.rsplit(".", 1)[-1], (method, path)
            checked += 1
    assert checked >= 5


@pytest.mark.parametrize("module", [fastapi_clean, starlette_clean], ids=["fastapi", "starlette"])
def test_clean_apps_have_no_findings(module: ModuleType) -> None:
    """Look-alike routes that are all served: no finding (int/float/uuid vs a word,
    other methods, implicit HEAD, a fallback for every method, websocket vs HTTP,
    another host, mounts after routes, partial overlaps, a catch-all after)."""
    assert findings_of(module.app) == []


@pytest.mark.parametrize("module", [fastapi_clean, starlette_clean], ids=["fastapi", "starlette"])
def test_clean_apps_serve_every_literal_route(module: ModuleType) -> None:
    """The framework agrees: each literal route of a clean app answers with its own handler."""
    from httpconflict.tools.routes._run import routes_of
    from httpconflict.tools.routes._target import identify

    app = module.app
    checked = 0
    for route in routes_of(identify(app)).routes:
        path = route.pattern.literal_path
        if path is None or route.pattern.host is not None or route.inside or route.mount:
            continue
        for method in route.explicit or ():
            if method in ("GET", "POST", "HEAD"):
                served = asgi_endpoint(app, method, path)
                assert served == route.definition.handler.rsplit(".", 1)[-1], (method, path)
                checked += 1
    assert checked >= 5


def test_a_finding_says_where_each_route_is_defined() -> None:
    """Handler qualname and file:line point at the functions in the app's source."""
    (finding,) = (f for f in findings_of(fastapi_problems.app) if f.kind is Kind.DOC_MISMATCH)
    for definition, function in (
        (finding.route.definition, fastapi_problems.list_items_v2),
        (finding.by.definition, fastapi_problems.list_items),
    ):
        assert definition.handler == function.__qualname__
        assert definition.file is not None
        assert Path(definition.file).resolve() == Path(fastapi_problems.__file__).resolve()
        assert definition.line == inspect.getsourcelines(function)[1]


def test_a_finding_says_which_mounted_app_each_route_is_in() -> None:
    """Prefect's shape: the UI's app mounted at / declares FastAPI's /docs behind the outer
    app's. Both routes have one handler, file and line; the sentence says which app each is
    in (it named the same handler and place twice), and the app serves the outer one."""
    findings = findings_of(fastapi_mounted_docs.app)
    assert rows(findings) == {
        ("duplicate", "GET", path, handler, path, handler)
        for path, handler in (
            ("/openapi.json", "openapi"),
            ("/docs", "swagger_ui_html"),
            ("/docs/oauth2-redirect", "swagger_ui_redirect"),
            ("/redoc", "redoc_html"),
        )
    }
    for finding in findings:
        said = reason(finding)
        first, _, lost = said.partition(" was first and takes every request, ")
        assert "mounted" not in first, said
        assert lost.endswith(" in the app mounted at / none"), said
        assert finding.route.mounted_at == ""
        assert finding.by.mounted_at is None
    app = fastapi_mounted_docs.app
    assert b"<title>Server - Swagger UI</title>" in asgi_body(app, "GET", "/docs")
    assert json.loads(asgi_body(app, "GET", "/openapi.json"))["info"]["title"] == "Server"


def test_a_router_included_twice_is_a_duplicate_not_a_doc_mismatch() -> None:
    """One router included twice under one prefix registers each route twice with one
    handler: the report called each a doc-mismatch ("the OpenAPI document shows read_item,
    but requests go to read_item"), though the document shows the handler that serves."""
    findings = findings_of(fastapi_router_twice.app)
    assert rows(findings) == {
        (
            "duplicate",
            "GET",
            "/v1/items/{item_id}",
            "read_item",
            "/v1/items/{item_id}",
            "read_item",
        ),
        (
            "duplicate",
            "PUT",
            "/v1/items/{item_id}",
            "replace_item",
            "/v1/items/{item_id}",
            "replace_item",
        ),
    }
    for finding in findings:
        said = reason(finding)
        assert said.endswith(
            " is registered twice with one handler, "
            f"{finding.route.definition.handler} (tests/routes/apps/fastapi_router_twice.py:"
            f"{finding.route.definition.line}) (a router or blueprint included twice?): the "
            "second is never served"
        ), said
