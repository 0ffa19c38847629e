"""Flask + SQLAlchemy: ``PUT /notes/<id>`` through httpconflict, or a plain UPDATE.

The adapter side is written as docs/flask.md writes it: ``install(app)``
(errors as problems), ``request_conditions()`` and ``versioned_update`` in a
``Session.begin()`` block, the new ETag in the answer. The plain side runs
``UPDATE notes SET ... WHERE id = ?`` with no check. Both read the body
with ``request.get_json()``, so the difference is httpconflict's part only.

Served by werkzeug's threaded server (bench/adapters.py): no other WSGI
server is installed in the venv.

Run: ``ADAPTER_SIDE=adapter|plain python -m bench.adapter_apps.flask_app PORT``
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from flask import Flask, abort, request
from sqlalchemy import update
from sqlalchemy.orm import sessionmaker
from werkzeug.serving import run_simple

from httpconflict.flask import install, request_conditions
from httpconflict.sqlalchemy import versioned_update

from . import db_path, note_count, side
from .notes import Note, engine


def create_app() -> Flask:
    Session = sessionmaker(engine(db_path(), note_count()), expire_on_commit=False)
    app = Flask(__name__)

    def values() -> dict[str, Any]:
        body = request.get_json()
        return {"title": str(body["title"]), "count": int(body["write"])}

    if side() == "adapter":
        install(app)

        @app.put("/notes/<int:note_id>")
        def put_note(note_id: int) -> Any:
            written = values()
            with Session.begin() as session:
                etag = versioned_update(session, Note, note_id, written, request_conditions()).etag
            return {"id": note_id, **written}, {"ETag": etag.to_header()}

    else:

        @app.put("/notes/<int:note_id>")
        def put_note_plain(note_id: int) -> Any:
            written = values()
            with Session.begin() as session:
                result = session.execute(update(Note).where(Note.id == note_id).values(written))
            if result.rowcount == 0:  # type: ignore[attr-defined]  # an UPDATE's result is a CursorResult
                abort(404)
            return {"id": note_id, **written}

    return app


if __name__ == "__main__":
    # No access line per request on either side (werkzeug logs each one by default).
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    run_simple("127.0.0.1", int(sys.argv[1]), create_app(), threaded=True)
