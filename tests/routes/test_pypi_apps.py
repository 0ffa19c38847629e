"""``httpconflict routes`` on apps and URLconfs installed from PyPI: nothing to report, and
each framework's own routing agrees that every literal route is served by its own handler."""

from __future__ import annotations

from types import ModuleType

import pytest

from httpconflict.tools.routes._run import routes_of
from httpconflict.tools.routes._target import identify

from .apps import pypi_fastapi_users, pypi_flask_admin, pypi_sqladmin
from .findings import asgi_endpoint, django_run, findings_of, werkzeug_checked

SETTINGS = "tests.routes.apps.pypi_django.settings"


@pytest.mark.parametrize(
    ("urlconf", "routes"),
    [
        pytest.param("admin_urls", 40, id="django-admin"),
        pytest.param("auth_urls", 8, id="django-contrib-auth"),
        pytest.param("drf_urls", 14, id="drf-default-and-simple-routers"),
        pytest.param("allauth_urls", 20, id="django-allauth"),
    ],
)
def test_django_urlconfs(urlconf: str, routes: int) -> None:
    """No finding, exit 0; Django's resolve() serves each literal path with its own view."""
    run = django_run(SETTINGS, {"ROUTES_URLCONF": urlconf})
    assert run.code == 0
    assert (run.report["findings"], run.report["notes"]) == ([], [])
    assert run.report["routes"] >= routes
    assert len(run.served) >= routes // 4
    for path, (view, expected) in run.served.items():
        assert view == expected, path
    # Routes with parameters, regexes included, on sample paths; kept whole: the admin's
    # unanchored catch-all and allauth's key (a catch-all sharing its segment).
    verdicts = [verdict for verdict in run.sampled.values() if verdict != "unchecked"]
    assert set(verdicts) <= {"agrees"}, run.sampled
    assert len(run.sampled) - len(verdicts) <= 1
    if urlconf == "drf_urls":
        # A list action and the detail route share a prefix: "me" is the action, not a pk.
        assert "/api/users/me/" in run.served


def test_flask_admin() -> None:
    """Flask-Admin's index and file manager: no finding; Werkzeug matches each literal
    rule to its own endpoint."""
    app = pypi_flask_admin.create_app()
    assert findings_of(app) == []
    assert werkzeug_checked(app) >= 8


@pytest.mark.parametrize(
    ("module", "checked"),
    [
        pytest.param(pypi_sqladmin, 6, id="sqladmin"),
        pytest.param(pypi_fastapi_users, 10, id="fastapi-users"),
    ],
)
def test_asgi_apps(module: ModuleType, checked: int) -> None:
    """SQLAdmin mounted in FastAPI, FastAPI Users' routers: no finding; a request to each
    literal route reaches its own endpoint (GET /users/me reaches ``me``, not the id route)."""
    app = module.app
    assert findings_of(app) == []
    count = 0
    for route in routes_of(identify(app)).routes:
        path = route.pattern.literal_path
        if path is None or route.mount:
            continue
        for method in sorted(route.explicit or ()):
            served = asgi_endpoint(app, method, path)
            assert served == route.definition.handler.rsplit(".", 1)[-1], (method, path)
            count += 1
    assert count >= checked
