"""Flask-Admin (from PyPI): its index, its file manager, and a view of ours with exposed pages.

The file manager's rules share prefixes (``/upload/`` and
``/upload/<path:path>``, ``/b/<path:path>`` beside ``/old_b/...``) and
its index has an old alias with a view; Werkzeug serves all of them.
"""

from __future__ import annotations

import tempfile

from flask import Flask
from flask_admin import Admin, BaseView, expose
from flask_admin.contrib.fileadmin import FileAdmin


class Reports(BaseView):  # type: ignore[misc]  # Flask-Admin ships no types
    @expose("/")  # type: ignore[untyped-decorator]  # likewise
    def index(self) -> str:
        return "reports"

    @expose("/<int:report_id>/")  # type: ignore[untyped-decorator]  # likewise
    def report(self, report_id: int) -> str:
        return str(report_id)

    @expose("/latest/")  # type: ignore[untyped-decorator]  # likewise
    def latest(self) -> str:
        return "latest"


def create_app() -> Flask:
    app = Flask(__name__)
    app.secret_key = "tests-only"  # noqa: S105  # nothing here signs anything
    admin = Admin(app, name="shop")
    files = tempfile.mkdtemp(prefix="routes-flask-admin-")
    admin.add_view(FileAdmin(files, "/files/", name="Files"))
    admin.add_view(Reports(name="Reports", endpoint="reports"))
    return app
