"""The shape of Flask's tutorial app, flaskr (pallets/flask, examples/tutorial/flaskr).

Not its code: its routes. An app factory with a ``/hello`` view, an auth
blueprint under ``/auth``, a blog blueprint at the root whose index is
``/``, and ``app.add_url_rule("/", endpoint="index")`` added last, a rule
with no view so that ``url_for("index")`` builds the blog's index URL.
``create_app(alias_first=True)`` adds that alias before the blueprints
instead: then it is tried first, and Flask answers ``/`` with a 500.
"""

from __future__ import annotations

from flask import Blueprint, Flask

auth = Blueprint("auth", __name__, url_prefix="/auth")
blog = Blueprint("blog", __name__)


@auth.route("/register", methods=("GET", "POST"))
def register() -> str:
    return "register"


@auth.route("/login", methods=("GET", "POST"))
def login() -> str:
    return "login"


@auth.route("/logout")
def logout() -> str:
    return "logout"


@blog.route("/")
def index() -> str:
    return "posts"


@blog.route("/create", methods=("GET", "POST"))
def create() -> str:
    return "create"


@blog.route("/<int:id>/update", methods=("GET", "POST"))
def update(id: int) -> str:
    return f"update {id}"


@blog.route("/<int:id>/delete", methods=("POST",))
def delete(id: int) -> str:
    return f"delete {id}"


def create_app(*, alias_first: bool = False) -> Flask:
    app = Flask(__name__)

    @app.route("/hello")
    def hello() -> str:
        return "Hello, World!"

    if alias_first:
        app.add_url_rule("/", endpoint="index")
    app.register_blueprint(auth)
    app.register_blueprint(blog)
    if not alias_first:
        app.add_url_rule("/", endpoint="index")
    return app
