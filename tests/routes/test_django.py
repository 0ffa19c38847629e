"""Django sites, through the command in a subprocess each: settings configure once per process."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from .findings import ROOT, django_run, routes_command

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
            {("shadowed", "/topics/new/", "me", "/topics/<slug:topic>/", "feed")},
            id="default-language-unprefixed",
        ),
    ],
)
def test_django_i18n_patterns(urlconf: str, problems: set[tuple[str, ...]]) -> None:
    """Routes under i18n_patterns are compared like any other, under every language's prefix
    (and none, for the default language without one): a route outside them that takes a
    path in one language leaves the others served, so it shadows nothing (``en/help/``
    before ``help/``; ``<slug:page>/`` before an unprefixed ``about/``). Django's resolve()
    agrees."""
    out = routes_command(
        "tests.routes.apps.django_i18n.settings", "--json", env={"ROUTES_URLCONF": urlconf}
    )
    assert out.returncode == 1, out.stderr
    assert _findings(out.stdout) == problems
    served = django_run("tests.routes.apps.django_i18n.settings", {"ROUTES_URLCONF": urlconf})
    assert served.served  # each literal path, resolved
    for path, (view, expected) in served.served.items():
        assert view == expected, path


def test_django_settings_that_read_settings_as_they_load() -> None:
    """Label Studio's settings read django.conf.settings as they load (to start Sentry): the
    command names them as DJANGO_SETTINGS_MODULE first, as manage.py does, and reads the site
    (it stopped with ImproperlyConfigured)."""
    out = routes_command(UNANCHORED_SETTINGS, "--json")
    assert "ImproperlyConfigured" not in out.stderr
    assert json.loads(out.stdout)["routes"] == 23


UNANCHORED = {
    ("shadowed", "/api/version/", "about_v2", "/version/", "about"),
    ("shadowed", "/admin/models/modelversion/", "archive", "/version/", "about"),
    (
        "shadowed",
        "/admin/models/modelversion/<path:object_id>/change/",
        "item",
        "/version/",
        "about",
    ),
    ("shadowed", "/admin/models/modelversion/<int:pk>/history/", "item_v2", "/version/", "about"),
    ("shadowed", "/docs/<int:pk>/", "latest_archive", "/docs/", "latest_posts"),
    ("shadowed", "/<int:pk>/feed/", "me", "/(?P<name>[^/]+)/feed/", "user"),
    (
        "shadowed",
        "/journal/(?P<year>[0-9]{4})/notes/(?P<pk>[0-9]+)/",
        "post",
        "/(?P<year>[0-9]{4})/notes/",
        "about",
    ),
    ("shadowed", "/(?P<pk>[0-9]+)/version/", "item", "/version/", "about"),
    ("shadowed", "/blog/<slug:slug>/", "archive", "/blog/<slug:slug>/", "entry"),
    ("shadowed", "/files/<int:pk>/raw/", "order", "/files/(?P<pk>[0-9]+)/", "latest_archive"),
}

UNANCHORED_SETTINGS = "tests.routes.apps.django_unanchored.settings"
_RESOLVE = """
import json, sys, django
django.setup()
from django.urls import resolve
print(json.dumps({path: resolve(path).func.__name__ for path in sys.argv[1:]}))
"""


def test_django_unanchored_regex_takes_every_path_holding_it() -> None:
    """``re_path(r"version/")``, which Django searches for, shadows each later route whose
    every path holds "version/", with parameters or not (only the literal one was found), and
    no route whose paths need not hold it; a view's regex ending in "$" without "^" is matched
    whole; a regex with parameters and neither anchor, and an include()'s prefix without "^",
    take the later routes whose every path they match, and lose theirs to "version/"; none is
    left to literal paths only; Django's resolve() agrees on a path of each."""
    out = routes_command(UNANCHORED_SETTINGS, "--json")
    assert out.returncode == 1, out.stderr
    assert _findings(out.stdout) == UNANCHORED
    assert json.loads(out.stdout)["literal_only"] == []
    terminal = routes_command(UNANCHORED_SETTINGS).stdout
    assert "compared with literal paths only" not in terminal, terminal
    served = {
        "/api/version/": "about",
        "/admin/models/modelversion/": "about",
        "/admin/models/modelversion/a/b/change/": "about",
        "/admin/models/modelversion/7/history/": "about",
        "/admin/models/model/7/": "order",
        "/versions/7/": "entry",
        "/docs/7/": "latest_posts",
        "/doc/7/": "new_order",
        "/feed.xml": "feed",
        "/other/": "tag",
        "/7/feed/": "user",
        "/2024/notes/": "about",
        "/a/b2024/notes/x/y": "about",
        "/journal/2024/notes/7/": "about",
        "/7/version/": "about",
        "/notes/7/": "tag_by_name",
        "/blog/x/": "entry",
        "/a/blog/x/": "entry",
        "/files/7/raw/": "latest_archive",
        "/files/7/x/y": "latest_archive",
        "/files/seven/": "new_order",
    }
    resolved = subprocess.run(
        [sys.executable, "-c", _RESOLVE, *served],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": UNANCHORED_SETTINGS},
        timeout=60,
        check=True,
    )
    assert json.loads(resolved.stdout) == served


def test_django_searched_regexes_agree_with_resolve() -> None:
    """Sample paths of each route with parameters of the site of searched regexes agree with
    Django's resolve(): a path served by the route itself when it is reported served, none
    served by it when it is reported lost."""
    run = django_run(UNANCHORED_SETTINGS)
    assert len(run.sampled) == 20  # by path: the include()'s /blog/<slug:slug>/ and the later
    unchecked = {path for path, verdict in run.sampled.items() if verdict == "unchecked"}
    assert unchecked == {"/version/", "/api/version/", "/docs/"}  # text searched for, kept whole
    assert {run.sampled[path] for path in run.sampled.keys() - unchecked} == {"agrees"}
    for path, (view, expected) in run.served.items():
        assert view == expected, path


REGEX = {
    (
        "shadowed",
        "/checks/<uuid:code>/pings/<int:n>/",
        "tag_by_name",
        "/checks/(?P<code>[-\\w]+)/pings/(?P<n>\\d+)/",
        "tag",
    ),
    (
        "shadowed",
        "/keys/<uuid:code>/remove/",
        "item_v2",
        "/keys/(?P<code>[0-9a-fA-F-]{36})/remove/",
        "item",
    ),
    ("shadowed", "/numbers/<int:pk>/", "tag_by_name", "/numbers/(?P<pk>[0-9]+)/", "tag"),
    ("shadowed", "/words/<slug:word>/", "tag_by_name", "/words/(?P<word>[-a-zA-Z0-9_]+)/", "tag"),
    ("shadowed", "/<slug:page>/_edit/", "new_order", "/(?P<path>.+/|)_edit/", "order"),
    (
        "shadowed",
        "/(?P<path>.+/|)_plugin/images/",
        "item_v2",
        "/(?P<path>.+/|)_plugin/(?P<slug>\\w+)/",
        "feed",
    ),
    ("shadowed", "/documents/<int:pk>/", "item_v2", "/documents/(?P<pk>[^/.]+)/", "entry"),
    (
        "shadowed",
        "/documents/<slug:slug>/",
        "latest_archive",
        "/documents/(?P<pk>[^/.]+)/",
        "entry",
    ),
    ("shadowed", "/tags/(?P<pk>\\d+)/", "tag_by_name", "/tags/<str:name>/", "tag"),
    (
        "duplicate",
        "/fetch/(?P<what>doc|thumb|preview)/(?P<id>\\d+)",
        "archive",
        "/fetch/(?P<kind>doc|thumb|preview)/(?P<pk>\\d+)",
        "feed",
    ),
    (
        "shadowed",
        "/api/v1/items/<int:pk>/",
        "about_v2",
        "/api/(?P<version>v1|v2)/items/(?P<pk>[^/.]+)/",
        "item",
    ),
    (
        "shadowed",
        "/(?P<article_id>[0-9]+)/plugin/images/",
        "archive",
        "/(?P<article_id>[0-9]+)/plugin/(?P<slug>\\w+)/",
        "post",
    ),
}


def test_django_regex_routes_with_parameters() -> None:
    """re_path() routes with groups (DRF's routers, format suffixes with an optional slash,
    an include() prefix with a parameter, django-wiki's empty include() regex and its optional
    groups of whole segments, in a view's regex and an include()'s; a class wider than a
    converter's regex) are compared with every route, not only literal paths: the ten
    findings are reported (none was), the served ones are not, and sample paths of every
    route agree with Django's resolve()."""
    out = routes_command("tests.routes.apps.django_regex.settings", "--json")
    assert out.returncode == 1, out.stderr
    assert _findings(out.stdout) == REGEX
    run = django_run("tests.routes.apps.django_regex.settings")
    assert len(run.sampled) == 33
    assert set(run.sampled.values()) == {"agrees"}, run.sampled
    for path, (view, expected) in run.served.items():
        assert view == expected, path


WAGTAIL = {
    ("shadowed", path, handler, "/((?:[\\w\\-]+/)*)", "about")
    for path, handler in (
        ("/api/v2/pages/", "latest_posts"),
        ("/api/v2/pages/<int:pk>/", "item"),
        ("/api/v2/images/<uuid:code>/", "item_v2"),
        ("/blog/<slug:slug>/feed/", "feed"),
    )
}


def test_django_a_page_tree_of_repeated_segments_takes_the_routes_after_it() -> None:
    """Wagtail's ``^((?:[\\w\\-]+/)*)$`` before an API: every later route whose segments are
    all its text (literal, ``<int:>``, ``<uuid:>``, ``<slug:>``) and that ends with a slash
    is never served (only the literal one was reported); the others are, and sample paths of
    every route agree with Django's resolve()."""
    out = routes_command("tests.routes.apps.django_wagtail.settings", "--json")
    assert out.returncode == 1, out.stderr
    assert _findings(out.stdout) == WAGTAIL
    run = django_run("tests.routes.apps.django_wagtail.settings")
    assert set(run.sampled.values()) == {"agrees"}, run.sampled
    for path, (view, expected) in run.served.items():
        assert view == expected, path


def test_django_a_literal_spelling_taken_from_a_route_of_two() -> None:
    """The RealWorld DRF app: its router's detail route takes ``/api/articles/feed``, one of
    the two spellings of ``^articles/feed/?$`` (which nothing reported: the route is still
    served at ``/api/articles/feed/``). It is a finding naming that path, and Django's
    resolve() agrees on every literal path and sample paths of the other routes."""
    out = routes_command("tests.routes.apps.django_router_feed.settings", "--json")
    assert out.returncode == 1, out.stderr
    report = json.loads(out.stdout)
    (finding,) = report["findings"]
    assert finding["kind"] == "shadowed"
    assert finding["path"] == "/api/articles/feed"
    assert finding["route"]["path"] == "/api/articles/feed/?"
    assert finding["by"]["path"] == "/api/articles/(?P<slug>[^/.]+)"
    assert finding["accept_key"] == "* /api/articles/feed"
    assert "one spelling of /api/articles/feed/?" in finding["reason"], finding["reason"]
    run = django_run("tests.routes.apps.django_router_feed.settings")
    for path, (view, expected) in run.served.items():
        assert view == expected, path
    assert set(run.served) >= {"/api/articles/feed", "/api/articles/feed/", "/api/tags"}
    assert set(run.sampled.values()) == {"agrees"}, run.sampled
