"""A user's app written from docs/api.md: every adapter imported and used, with their types.

tests/test_typing.py runs ``mypy --strict`` on this file against the
package installed from its wheel, as a user's project would see it: no
suppressed error here, and no project configuration. It imports no
framework that ships without types (Django, REST framework), only
httpconflict's adapters for them.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Response
from flask import Flask
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from starlette.applications import Starlette

import httpconflict.django.rest_framework
from httpconflict import (
    Conditions,
    ETag,
    Patch,
    ProblemDetails,
    ProblemError,
    Validators,
    VersionedRow,
    evaluate,
)
from httpconflict import asgi as hc_asgi
from httpconflict import catalog as hc_catalog
from httpconflict import django as hc_django
from httpconflict import drivers as hc_drivers
from httpconflict import fastapi as hc_fastapi
from httpconflict import flask as hc_flask
from httpconflict import httpx as hc_httpx
from httpconflict import openapi as hc_openapi
from httpconflict import sqlalchemy as hc_sqlalchemy
from httpconflict import starlette as hc_starlette
from httpconflict import wsgi as hc_wsgi
from httpconflict.storage import DocumentStore, document_store
from httpconflict.storage.idempotency import IdempotencyStore, idempotency_store


class Base(DeclarativeBase):
    pass


class Note(Base):
    __tablename__ = "notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str]
    version: Mapped[int] = mapped_column(default=1)


def note_json(row: Note) -> dict[str, Any]:
    return {"id": row.id, "title": row.title}


# --- FastAPI and SQLAlchemy ----------------------------------------------------------

api = FastAPI()
hc_fastapi.install(api)


@api.put("/notes/{note_id}")
def put_note(
    note_id: int, conditions: hc_fastapi.Preconditions, response: Response
) -> dict[str, Any]:
    with Session() as session:
        written: VersionedRow[Any] = hc_sqlalchemy.versioned_update(
            session, Note, note_id, {"title": "new"}, conditions, version_field="version"
        )
        session.commit()
    response.headers["ETag"] = written.etag.to_header()
    return note_json(written.row)


@api.patch("/notes/{note_id}")
def patch_note(
    note_id: int, patch: hc_fastapi.PatchBody, conditions: hc_fastapi.Preconditions
) -> dict[str, Any]:
    with Session() as session:
        written = hc_sqlalchemy.versioned_patch(
            session, Note, note_id, patch, conditions, document=note_json
        )
        session.commit()
    rebased: str | None = written.rebased_from
    changed: bool = written.changed
    return {"rebased_from": rebased, "changed": changed}


def note_etag(session: Session, note_id: int) -> ETag | None:
    row = session.get(Note, note_id)
    return None if row is None else hc_sqlalchemy.etag_of(row)


# --- Starlette, plain ASGI ------------------------------------------------------------

starlette_app = Starlette()
hc_starlette.install(starlette_app)
keys: IdempotencyStore = idempotency_store("memory")
documents: DocumentStore = document_store("sqlite:///notes.db")
asgi_app: hc_asgi.ASGIApp = hc_asgi.IdempotencyMiddleware(
    hc_asgi.ConditionalMiddleware(hc_asgi.ProblemMiddleware(starlette_app)), store=keys
)


# --- Flask, plain WSGI ------------------------------------------------------------------

flask_app = Flask(__name__)
hc_flask.install(flask_app)
wsgi_app = hc_wsgi.IdempotencyMiddleware(hc_wsgi.ConditionalMiddleware(flask_app), store=keys)


def flask_note_etag(note_id: int) -> ETag | None:
    return ETag(str(note_id))


@flask_app.get("/notes/<int:note_id>")
@hc_flask.conditional(flask_note_etag)
def get_flask_note(note_id: int) -> dict[str, Any]:
    conditions: Conditions = hc_flask.request_conditions()
    body: dict[str, Any] = hc_flask.json_body()
    return {"id": note_id, "present": conditions.present, "body": body}


# --- Django (its own types are not installed: only httpconflict's are checked) ---------


def django_validators(request: object, pk: int) -> Validators | None:
    return Validators(ETag(str(pk)))


django_decorator = hc_django.conditional(django_validators)
django_middleware = "httpconflict.django.ProblemMiddleware"
drf_mixin: type = httpconflict.django.rest_framework.ConditionalModelMixin


def django_update(model: type, pk: int, conditions: Conditions) -> ETag:
    written: VersionedRow[Any] = hc_django.versioned_update(model, pk, {"title": "x"}, conditions)
    return hc_django.etag_of(written.row)


def django_patch(model: type, pk: int, patch: Patch, conditions: Conditions) -> bool:
    return hc_django.versioned_patch(model, pk, patch, conditions, document=dict).changed


# --- one problem_response in every framework --------------------------------------------


def answers(problem: ProblemDetails, error: ProblemError) -> list[object]:
    return [
        hc_starlette.problem_response(problem, {"X-Why": "shown"}),
        hc_fastapi.problem_response(error),
        hc_flask.problem_response(problem, {"X-Why": "shown"}),
        hc_django.problem_response(error),
    ]


# --- the client, the core, and the rest -------------------------------------------------


def client_update(url: str) -> Any:
    with hc_httpx.ConflictClient() as client:
        return client.update(url, lambda document: {**document, "n": document["n"] + 1})


decision = evaluate("PUT", Conditions(), Validators(ETag("1")), require_precondition=True)
error_types: tuple[type[Exception], ...] = hc_drivers.database_error_types()
problem_schema: dict[str, Any] = hc_openapi.PROBLEM_DETAILS
catalog_cache: type = hc_catalog.CatalogCache
