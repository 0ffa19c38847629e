"""A Flask app with known problems (the comments say which), built by a factory."""

from __future__ import annotations

from flask import Blueprint, Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware


def create_app() -> Flask:
    app = Flask(__name__)

    # duplicate: the same rule twice, two endpoints
    @app.get("/health")
    def health() -> str:
        return "ok"

    @app.get("/health", endpoint="health_v2")
    def health_v2() -> str:
        return "ok too"

    # duplicate across a blueprint: /api/items twice
    api = Blueprint("api", __name__, url_prefix="/api")

    @api.get("/items")
    def list_items() -> str:
        return "items"

    app.register_blueprint(api)

    @app.get("/api/items")
    def list_items_again() -> str:
        return "items again"

    # shadowed: <name> and <any(...)> weigh the same, so the first added wins
    @app.get("/items/<name>")
    def item(name: str) -> str:
        return name

    @app.get("/items/<any(new, old):kind>")
    def items_by_kind(kind: str) -> str:
        return kind

    # mount-overlap: the dispatcher sends /legacy/... to the legacy app first
    legacy = Flask("legacy")

    @legacy.get("/ping")
    def legacy_ping() -> str:
        return "legacy pong"

    @app.get("/legacy/ping")
    def ping() -> str:
        return "pong"

    app.wsgi_app = DispatcherMiddleware(app.wsgi_app, {"/legacy": legacy})  # type: ignore[method-assign]  # Flask's way to add WSGI middleware
    return app
