"""A Flask app whose counters are edited with HTML forms: WTForms, SQLAlchemy, two processes.

Run as a server process (``start_app("tests.adapters.flask_forms_app:create_app", ...,
wsgi=True)``) on ``FORMS_DATABASE`` (a SQLAlchemy URL), with the form keys in the SQLite
file ``FORMS_KEYS``, which every process shares. The session is the one Flask-SQLAlchemy
gives a view (a ``scoped_session`` removed at the end of each request).

``NAIVE=1`` is the app as Flask apps are written without httpconflict: the same
form without the mixin, saved with ``form.populate_obj(counter)`` and a commit.

- ``GET/POST /counters/new``: the add form; saved, a 302 to the counter's edit page;
- ``GET/POST /counters/<id>/edit``: the edit form; saved, a 302 back to it;
- ``GET /counters?name=N``: how many counters are named N.

A refused form is the page again (200), its errors in ``<ul class="errorlist">``.
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, abort, redirect, render_template_string, request
from sqlalchemy import String, create_engine, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, scoped_session, sessionmaker
from wtforms import Form, IntegerField, StringField
from wtforms.validators import InputRequired

from httpconflict.flask import install
from httpconflict.flask.forms import FORM_KEY_FIELD, VersionedFormMixin, save_form
from httpconflict.storage.idempotency import idempotency_store
from httpconflict.wsgi import IdempotencyMiddleware, IdempotencyPolicy

PAGE = """<!doctype html><title>counter</title>
{% if form.form_errors %}<ul class="errorlist">{% for e in form.form_errors %}<li>{{ e }}</li>
{% endfor %}</ul>{% endif %}
<form method="post">{% for field in form %}{{ field() }}
{% if field.errors %}<ul class="errorlist">{% for e in field.errors %}<li>{{ e }}</li>
{% endfor %}</ul>{% endif %}{% endfor %}<button>Save</button></form>"""


class Base(DeclarativeBase):
    pass


class Counter(Base):
    __tablename__ = "form_counters"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    count: Mapped[int] = mapped_column(default=0)
    version: Mapped[int] = mapped_column(default=1)


class CounterForm(Form):  # type: ignore[misc]  # WTForms has no type hints
    name = StringField("Name", validators=[InputRequired()])
    count = IntegerField("Count", validators=[InputRequired()])


class VersionedCounterForm(VersionedFormMixin, CounterForm):
    pass


def create_app() -> Any:
    url = os.environ["FORMS_DATABASE"]
    naive = os.environ.get("NAIVE") == "1"
    engine = create_engine(url, connect_args={"timeout": 30} if url.startswith("sqlite") else {})
    Base.metadata.create_all(engine)
    db = scoped_session(sessionmaker(engine))
    form_class = CounterForm if naive else VersionedCounterForm
    app = Flask(__name__)
    install(app)

    @app.teardown_appcontext
    def remove_session(_error: BaseException | None) -> None:
        db.remove()

    def save(form: Any, counter: Counter) -> bool:
        if naive:  # as Flask apps save a form: whatever it holds goes over what is stored
            form.populate_obj(counter)
            db.add(counter)
            db.flush()
            return True
        return save_form(db, form, counter)  # as Flask-SQLAlchemy's db.session

    @app.get("/healthz")
    def healthz() -> str:
        return "ok"

    @app.route("/counters/new", methods=["GET", "POST"])
    def add() -> Any:
        form = form_class(request.form)
        counter = Counter()
        if request.method == "POST" and form.validate() and save(form, counter):
            db.commit()
            return redirect(f"/counters/{counter.id}/edit", 302)
        return render_template_string(PAGE, form=form)

    @app.route("/counters/<int:number>/edit", methods=["GET", "POST"])
    def edit(number: int) -> Any:
        counter = db.get(Counter, number)
        if counter is None:
            abort(404)
        form = form_class(request.form, obj=counter)  # the usual idiom: empty on a GET
        if request.method == "POST" and form.validate() and save(form, counter):
            db.commit()
            return redirect(f"/counters/{number}/edit", 302)
        return render_template_string(PAGE, form=form)

    @app.get("/counters")
    def count_named() -> Any:
        found = db.scalar(select(func.count()).where(Counter.name == request.args["name"]))
        return {"rows": found}

    policy = IdempotencyPolicy(form_field=FORM_KEY_FIELD)
    keys = idempotency_store(os.environ["FORMS_KEYS"])
    app.wsgi_app = IdempotencyMiddleware(app.wsgi_app, store=keys, policy=policy)  # type: ignore[method-assign]
    return app
