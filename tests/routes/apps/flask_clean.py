"""A Flask app whose routes look alike but are all served: nothing to report.

Werkzeug tries static parts before converters and converters by weight,
whatever the order they were added in: none of these loses.
"""

from __future__ import annotations

from flask import Blueprint, Flask

app = Flask(__name__)


# A converter before a literal: Werkzeug tries the literal first.
@app.get("/users/<name>")
def user_by_name(name: str) -> str:
    return name


@app.get("/users/me")
def me() -> str:
    return "me"


# int before str, whatever the order: ints here, the rest there.
@app.get("/users/<int:user_id>")
def user(user_id: int) -> str:
    return str(user_id)


# An int cannot match "latest" anyway.
@app.get("/orders/<int:order_id>")
def order(order_id: int) -> str:
    return str(order_id)


@app.get("/orders/latest")
def latest_order() -> str:
    return "latest"


# A catch-all never takes a more specific rule.
@app.get("/files/<path:name>")
def file(name: str) -> str:
    return name


@app.get("/files/readme")
def readme() -> str:
    return "readme"


# Different methods on one path (each with Flask's automatic OPTIONS).
@app.get("/things")
def list_things() -> str:
    return "things"


@app.post("/things")
def create_thing() -> str:
    return "created"


# The same view name in two blueprints, on different prefixes.
for prefix in ("v1", "v2"):
    blueprint = Blueprint(prefix, __name__, url_prefix=f"/{prefix}")
    blueprint.add_url_rule("/status", "status", lambda: "ok")
    app.register_blueprint(blueprint)
