"""Django sites, through the command in a subprocess each: settings configure once per process."""

from __future__ import annotations

import json

import pytest

from .findings import django_run, routes_command

PROBLEMS = {
    ("shadowed", "/users/me/", "me", "/users/<str:name>/", "user"),
    ("duplicate", "/about/", "about_v2", "/about/", "about"),
    ("shadowed", "/posts/latest/", "latest_posts", "/posts/(?P<slug>[-\\w]+)/", "post"),
    ("duplicate", "/api/items/<int:pk>/", "item_v2", "/api/items/<int:pk>/", "item"),
}


def _findings(stdout: str) -> set[tuple[str, str, str, str, str]]:
    report = json.loads(stdout)
    assert report["framework"] == "django"
    return {
        (f["kind"], f["route"]["path"], f["route"]["handler"], f["by"]["path"], f["by"]["handler"])
        for f in report["findings"]
    }


@pytest.mark.parametrize(
    "target",
    [
        pytest.param("tests.routes.apps.django_problems.settings", id="settings-module"),
        pytest.param("tests.routes.apps.django_problems.wsgi:application", id="wsgi-application"),
    ],
)
def test_django_problems(target: str) -> None:
    """A str converter, a duplicate, a regex and a duplicate across a namespaced
    include(): all found with their pairs, for every method, exit 1."""
    out = routes_command(target, "--json")
    assert out.returncode == 1, out.stderr
    assert _findings(out.stdout) == PROBLEMS
    findings = json.loads(out.stdout)["findings"]
    assert {tuple(f["methods"]) for f in findings} == {("*",)}  # whatever the method
    # A pattern inside a namespaced include() is named namespace:name.
    (included,) = (f for f in findings if f["by"]["handler"] == "item")
    assert included["by"]["name"] == "api:item"
    assert included["by"]["file"].endswith("django_views.py")


def test_django_clean_site_from_its_asgi_application() -> None:
    """int vs "me", a regex that does not match, uuid vs "new", a slug vs "feed.xml",
    a regex against a parameter: nothing reported, exit 0."""
    out = routes_command("tests.routes.apps.django_clean.asgi:application", "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["findings"] == []
    assert report["routes"] == 11


@pytest.mark.parametrize("site", ["django_problems", "django_clean"])
def test_django_resolves_what_the_findings_say(site: str) -> None:
    """Django's resolve() sends each literal path to its view, or to the one the finding names."""
    served = django_run(f"tests.routes.apps.{site}.settings").served
    assert len(served) >= 4
    for path, (view, expected) in served.items():
        assert view == expected, path


@pytest.mark.parametrize(
    ("urlconf", "problems"),
    [
        pytest.param(
            "urls",
            {("shadowed", "/en/user/login", "me", "/en/user/<str:name>", "user")},
            id="prefixed",
        ),
        pytest.param(
            "unprefixed",
            {("shadowed", "/about/", "about", "/<slug:page>/", "post")},
            id="default-language-unprefixed",
        ),
    ],
)
def test_django_i18n_patterns(urlconf: str, problems: set[tuple[str, ...]]) -> None:
    """Routes under i18n_patterns are compared like any other, under the language prefix
    the default language is served with, and Django's resolve() agrees."""
    out = routes_command(
        "tests.routes.apps.django_i18n.settings", "--json", env={"ROUTES_URLCONF": urlconf}
    )
    assert out.returncode == 1, out.stderr
    assert _findings(out.stdout) == problems
    served = django_run("tests.routes.apps.django_i18n.settings", {"ROUTES_URLCONF": urlconf})
    assert served.served  # each literal path, resolved
    for path, (view, expected) in served.served.items():
        assert view == expected, path
