"""The shape of a Flask-RESTX app (the stores tutorial's, tecladocode/rest-apis-flask-python).

Not Flask-RESTX's code: the routes its ``Api`` adds. ``Api(app)`` adds
its Swagger page at ``doc`` ("/" unless told) as endpoint ``doc``
(``Api.render_doc``) and then, always, ``Api.render_root`` at its prefix
or "/" as endpoint ``root``: a view that only answers 404, there so that
``url_for("root")`` builds. With the doc at "/", Werkzeug serves the doc
and the root placeholder never, on purpose ("Register documentation
before root if enabled"). Each namespace's resources are MethodViews.

``create_app(doc=False)`` adds no doc page, and the app's own ``/`` after
the Api: the placeholder, tried first, answers it 404.
``create_app(again=True)`` adds a second resource class on the first's
rule (two ``@ns.route("/items/<int:item_id>")``): every such view is the
function ``View.as_view`` makes, and was named so, at flask/views.py, on
both sides, and said to be one handler registered twice.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, abort
from flask.views import MethodView


class Api:
    """Registers its doc page and its root placeholder as Flask-RESTX's Api does."""

    def __init__(self, app: Flask, *, doc: str | bool = "/", prefix: str = "") -> None:
        self.doc = doc
        self.prefix = prefix
        if doc:
            app.add_url_rule(str(doc), "doc", self.render_doc)
        app.add_url_rule(prefix or "/", "root", self.render_root)
        app.add_url_rule(f"{prefix}/swagger.json", "specs", self.render_specs)

    def render_root(self) -> Any:
        abort(404)

    def render_doc(self) -> str:
        return "<html>Swagger UI</html>"

    def render_specs(self) -> dict[str, Any]:
        return {"swagger": "2.0"}


class Item(MethodView):
    def get(self, item_id: int) -> dict[str, Any]:
        return {"id": item_id}

    def put(self, item_id: int) -> dict[str, Any]:
        return {"id": item_id}

    def delete(self, item_id: int) -> dict[str, Any]:
        return {"message": "Item deleted."}


class ItemList(MethodView):
    def get(self) -> list[dict[str, Any]]:
        return []

    def post(self) -> dict[str, Any]:
        return {"id": 1}


class ItemV2(MethodView):
    def get(self, item_id: int) -> dict[str, Any]:
        return {"id": item_id, "v": 2}


def create_app(*, doc: bool = True, again: bool = False) -> Flask:
    app = Flask(__name__)
    Api(app, doc="/" if doc else False)
    app.add_url_rule("/items/<int:item_id>", view_func=Item.as_view("items_item"))
    app.add_url_rule("/items", view_func=ItemList.as_view("items_item_list"))
    if again:
        app.add_url_rule("/items/<int:item_id>", view_func=ItemV2.as_view("items_item_v2"))
    if not doc:
        app.add_url_rule("/", "index", lambda: "home")
    return app
