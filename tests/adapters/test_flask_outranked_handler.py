"""An app's own handler for a database error class that Flask picks over install()'s: warned.

Flask answers an error with the handler of its nearest class, so a real
app's ``@app.errorhandler(IntegrityError)`` (microblog-api answers it 400,
quoting the database) outranks install()'s handler for ``DBAPIError``
whatever the order, and its duplicates never become the 409 naming the
field. Nothing said so; now the first request logs one warning naming the
class and where the handler is.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Blueprint, Flask
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError, OperationalError

from httpconflict.flask import install


def _app(tmp_path: Path) -> Flask:
    engine = create_engine(f"sqlite:///{tmp_path / 'users.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT UNIQUE)"))
    app = Flask(__name__)
    install(app)

    @app.errorhandler(IntegrityError)
    def integrity(error: IntegrityError) -> tuple[dict[str, object], int]:
        return {"code": 400, "description": str(error.orig)}, 400

    api = Blueprint("api", __name__)

    @api.errorhandler(OperationalError)
    def operational(error: OperationalError) -> tuple[dict[str, object], int]:
        return {"code": 500}, 500

    @app.post("/users/<email>")
    def create(email: str) -> tuple[dict[str, object], int]:
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO users (email) VALUES (:e)"), {"e": email})
        return {}, 201

    app.register_blueprint(api)
    return app


def test_an_app_handler_that_outranks_install_is_warned_of_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = _app(tmp_path)
    with caplog.at_level("WARNING", logger="httpconflict"), app.test_client() as client:
        assert client.post("/users/a").status_code == 201
        assert client.post("/users/a").status_code == 400  # the app's own answer stands
    warned = [r.getMessage() for r in caplog.records if "install()" in r.getMessage()]
    assert len(warned) == 2, warned  # once per handler, at the first request only
    assert any(
        "the handler the app registered for sqlalchemy.exc.IntegrityError" in w for w in warned
    )
    assert any(
        "the blueprint 'api' registered for sqlalchemy.exc.OperationalError" in w for w in warned
    )
