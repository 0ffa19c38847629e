"""Flask apps: Werkzeug's own matching order decides, so only real losers are reported."""

from __future__ import annotations

import inspect

from flask import Flask, url_for

from httpconflict.tools.routes._report import reason
from httpconflict.tools.routes._run import routes_of
from httpconflict.tools.routes._target import identify

from .apps import flask_clean, flask_problems, flask_restx_shaped, flask_tutorial, flask_views
from .findings import findings_of, rows, werkzeug_checked


def test_flask_problems() -> None:
    """Duplicates (one across a blueprint), a same-weight converter, a dispatcher mount."""
    assert rows(findings_of(flask_problems.create_app())) == {
        ("duplicate", "GET", "/health", "health_v2", "/health", "health"),
        ("duplicate", "GET", "/api/items", "list_items_again", "/api/items", "list_items"),
        (
            "shadowed",
            "GET",
            "/items/<any(new, old):kind>",
            "items_by_kind",
            "/items/<name>",
            "item",
        ),
        ("mount-overlap", "GET", "/legacy/ping", "ping", "/legacy/*", "Flask"),
    }


def test_werkzeug_serves_what_the_findings_say() -> None:
    """Werkzeug's matcher sends each lost rule's paths to the rule the finding names."""
    app = flask_problems.create_app()
    adapter = app.url_map.bind("localhost")
    for path, method, endpoint in (
        ("/health", "GET", "health"),
        ("/api/items", "GET", "api.list_items"),
        ("/items/new", "GET", "item"),
    ):
        rule, _ = adapter.match(path, method, return_rule=True)
        assert rule.endpoint == endpoint
    # The dispatcher answers /legacy/... from the legacy app, before the app's own rule.
    assert app.test_client().get("/legacy/ping").text == "legacy pong"


def test_the_blueprint_endpoint_names_the_rule() -> None:
    """A rule's definition carries its endpoint, blueprint included."""
    (finding,) = (
        f for f in findings_of(flask_problems.create_app()) if f.route.pattern.text == "/api/items"
    )
    assert finding.by.definition.name == "api.list_items"
    assert finding.route.definition.name == "list_items_again"


def test_flask_clean_app() -> None:
    """Werkzeug tries literals first and int before str, whatever the order, and
    OPTIONS/HEAD added by Flask are not duplicates: nothing to report."""
    assert findings_of(flask_clean.app) == []


def test_flask_serves_every_literal_rule_of_the_clean_app() -> None:
    """Werkzeug agrees: each literal rule of the clean app matches itself."""
    assert werkzeug_checked(flask_clean.app) >= 6


def test_the_tutorials_alias_is_not_a_duplicate() -> None:
    """flaskr's ``add_url_rule("/", endpoint="index")`` after the blog's ``/``: an alias for
    url_for, not a route; nothing reported, and Flask serves ``/`` with the blog's index."""
    app = flask_tutorial.create_app()
    table = routes_of(identify(app))
    assert [r.definition.name for r in table.routes if r.alias] == ["index"]
    assert findings_of(app) == []
    assert werkzeug_checked(app) >= 8
    with app.test_request_context():
        assert url_for("index") == url_for("blog.index") == "/"
    answer = app.test_client().get("/")
    assert (answer.status_code, answer.text) == (200, "posts")


def test_an_alias_tried_first_is_reported() -> None:
    """The alias added before the blog: Werkzeug tries it first and Flask, with no view to
    call, answers 500; the blog's index is reported as never served, the reason says why."""
    app = flask_tutorial.create_app(alias_first=True)
    (finding,) = findings_of(app)
    assert rows([finding]) == {("duplicate", "GET", "/", "index", "/", "index")}
    assert (finding.route.definition.name, finding.by.alias) == ("blog.index", True)
    assert "alias with no view" in reason(finding)
    assert "500" in reason(finding)
    app.testing = False  # an error page, as in production, not the exception
    assert app.test_client().get("/").status_code == 500


def test_the_order_added_does_not_matter_to_werkzeug() -> None:
    """``<name>`` added before ``<int:id>`` and before ``me`` takes neither."""
    app = Flask(__name__)
    app.add_url_rule("/u/<name>", "by_name", lambda name: name)
    app.add_url_rule("/u/<int:user_id>", "by_id", lambda user_id: str(user_id))
    app.add_url_rule("/u/me", "me", lambda: "me")
    app.add_url_rule("/f/<path:rest>", "file", lambda rest: rest)
    app.add_url_rule("/f/readme", "readme", lambda: "readme")
    assert findings_of(app) == []
    app.add_url_rule("/u/<other>", "by_other", lambda other: other)
    assert rows(findings_of(app)) == {
        ("duplicate", "GET", "/u/<other>", "<lambda>", "/u/<name>", "<lambda>")
    }


def test_a_bound_method_is_named_by_its_views_class() -> None:
    """One method registered bound to each class-based view (Flask-AppBuilder's APIs): the
    finding names the views' classes, where both sides read ``Api.info``; Werkzeug agrees."""
    app = flask_views.create_app()
    (finding,) = findings_of(app)
    assert finding.kind.value == "duplicate"
    assert finding.route.pattern.text == "/api/v1/annotation_layer/_info"
    assert finding.route.definition.handler == "AnnotationLayerApi.info"
    assert finding.by.definition.handler == "AnnotationApi.info"
    assert finding.route.definition.location.endswith("flask_views.py:36")  # where it is written
    rule, _ = app.url_map.bind("localhost").match(
        "/api/v1/annotation_layer/_info", "GET", return_rule=True
    )
    assert rule.endpoint == "AnnotationApi.info"


def test_flask_restx_root_placeholder_under_its_doc_is_not_reported() -> None:
    """Flask-RESTX's Api adds its doc page at "/" and then its root placeholder (a 404 for
    url_for("root")) there too, on purpose: not a duplicate (it was, in every such app)."""
    app = flask_restx_shaped.create_app()
    assert findings_of(app) == []
    table = routes_of(identify(app))
    assert [r.definition.name for r in table.routes if r.alias] == ["root"]
    rule, _ = app.url_map.bind("localhost").match("/", "GET", return_rule=True)
    assert rule.endpoint == "doc"


def test_flask_restx_root_placeholder_first_is_reported() -> None:
    """With no doc page, the placeholder is tried before the app's own "/" and answers it
    404: reported, saying so (not that Flask answers 500, as for an alias with no view)."""
    app = flask_restx_shaped.create_app(doc=False)
    (finding,) = findings_of(app)
    assert (finding.route.definition.name, finding.by.definition.name) == ("index", "root")
    assert app.test_client().get("/").status_code == 404
    said = reason(finding)
    assert "answers them 404" in said, said
    assert "500" not in said


def test_class_based_views_are_named_by_their_class() -> None:
    """Two MethodView classes on one rule (Flask-RESTX's and flask-smorest's resources): each
    named by its class, at its class's line, and not "one handler registered twice" (both
    were ``View.as_view.<locals>.view`` at flask/views.py)."""
    (finding,) = findings_of(flask_restx_shaped.create_app(again=True))
    lost, by = finding.route.definition, finding.by.definition
    assert (lost.handler, by.handler) == ("ItemV2", "Item")
    assert lost.file == by.file == "tests/routes/apps/flask_restx_shaped.py"
    assert lost.line == inspect.getsourcelines(flask_restx_shaped.ItemV2)[1]
    assert "registered twice with one handler" not in reason(finding)
