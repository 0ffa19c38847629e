"""OpenAPI: Idempotency-Key and its answers, on exactly the operations a policy covers."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Response
from openapi_spec_validator import validate
from pydantic import BaseModel

from httpconflict.asgi import IdempotencyMiddleware, IdempotencyPolicy, Scope
from httpconflict.fastapi import Preconditions, install
from httpconflict.openapi import document_idempotency
from httpconflict.storage.idempotency import idempotency_store
from httpconflict.wsgi import IdempotencyMiddleware as WSGIIdempotencyMiddleware

PROBLEM_SCHEMA = {"$ref": "#/components/schemas/ProblemDetails"}
KEYED = {"400", "409", "422", "503"}


class OrderIn(BaseModel):
    item: str


def orders_app() -> FastAPI:
    app = FastAPI()

    @app.post("/v1/orders", status_code=201)
    def create_order(order: OrderIn) -> dict[str, str]:
        return {"item": order.item}

    @app.put("/v1/notes/{note_id}")
    def put_note(note_id: int, order: OrderIn, conditions: Preconditions) -> dict[str, str]:
        return {"item": order.item}

    @app.get("/v1/notes/{note_id}")
    def get_note(note_id: int) -> dict[str, int]:
        return {"id": note_id}

    @app.delete("/v1/notes/{note_id}", status_code=204)
    def delete_note(note_id: int) -> Response:
        return Response(status_code=204)

    @app.post("/admin/reindex")
    def reindex() -> dict[str, bool]:
        return {"done": True}

    return app


def key_header(operation: dict[str, Any]) -> dict[str, Any] | None:
    found = [p for p in operation.get("parameters", []) if p["name"] == "Idempotency-Key"]
    assert len(found) <= 1
    return found[0] if found else None


def assert_keyed(operation: dict[str, Any], *, required: bool) -> None:
    header = key_header(operation)
    assert header is not None
    assert (header["in"], header["required"]) == ("header", required)
    responses = operation["responses"]
    assert set(responses) >= KEYED
    for status in KEYED:
        assert responses[status]["content"]["application/problem+json"]["schema"] == PROBLEM_SCHEMA
    assert "Retry-After" in responses["409"]["headers"]
    assert "Retry-After" in responses["503"]["headers"]
    success = next(answer for status, answer in responses.items() if status.startswith("2"))
    assert "Idempotent-Replayed" in success["headers"]
    assert ("requires an Idempotency-Key" in responses["400"]["description"]) is required


def test_fastapi_documents_the_default_policy_on_every_unsafe_operation() -> None:
    """The default policy covers POST, PUT, PATCH and DELETE; a GET gets no key."""
    app = orders_app()
    install(app)
    app.add_middleware(IdempotencyMiddleware, store=idempotency_store("memory"))
    spec = app.openapi()
    validate(spec)
    paths = spec["paths"]
    for path, method in [
        ("/v1/orders", "post"),
        ("/v1/notes/{note_id}", "put"),
        ("/v1/notes/{note_id}", "delete"),
        ("/admin/reindex", "post"),
    ]:
        assert_keyed(paths[path][method], required=False)
    assert key_header(paths["/v1/notes/{note_id}"]["get"]) is None
    assert "409" not in paths["/v1/notes/{note_id}"]["get"]["responses"]


def test_fastapi_documents_a_per_route_policy_on_exactly_its_routes() -> None:
    """A policy function: keys required on POST /v1/orders only; nothing elsewhere."""

    def per_route(scope: Scope) -> IdempotencyPolicy | None:
        if scope["path"] == "/v1/orders":
            return IdempotencyPolicy(methods=frozenset({"POST"}), required=True)
        return None

    app = orders_app()
    app.add_middleware(IdempotencyMiddleware, store=idempotency_store("memory"), policy=per_route)
    install(app)  # before or after add_middleware: the document is made when asked for
    spec = app.openapi()
    validate(spec)
    paths = spec["paths"]
    assert_keyed(paths["/v1/orders"]["post"], required=True)
    for path, method in [
        ("/v1/notes/{note_id}", "put"),
        ("/v1/notes/{note_id}", "delete"),
        ("/admin/reindex", "post"),
    ]:
        assert key_header(paths[path][method]) is None
    # A route's own answers keep their reasons; the key's are added to them.
    put_409 = paths["/v1/notes/{note_id}"]["put"]["responses"]["409"]["description"]
    assert "Idempotency-Key" not in put_409  # no key is taken there
    assert "503" not in paths["/v1/notes/{note_id}"]["put"]["responses"]


def test_a_shared_status_keeps_both_reasons() -> None:
    """A 409 the route documents already (a unique field) also names the key in flight."""
    spec: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1"},
        "paths": {
            "/users": {
                "post": {
                    "responses": {
                        "201": {"description": "Created."},
                        "409": {"description": "The email is taken."},
                    }
                }
            }
        },
    }
    document_idempotency(spec, IdempotencyPolicy(methods=frozenset({"POST"})))
    validate(spec)
    post = spec["paths"]["/users"]["post"]
    assert post["responses"]["409"]["description"].startswith("The email is taken. Or: ")
    assert_keyed(post, required=False)


def test_the_wsgi_middleware_tells_its_routes_for_any_document() -> None:
    """A hand-written document (Flask has no OpenAPI of its own) from the WSGI middleware."""

    def per_route(environ: dict[str, Any]) -> IdempotencyPolicy | None:
        return IdempotencyPolicy() if environ["PATH_INFO"].startswith("/v1/") else None

    def app(environ: Any, start_response: Any) -> list[bytes]:
        return []

    keyed = WSGIIdempotencyMiddleware(app, store=idempotency_store("memory"), policy=per_route)
    answers = {"200": {"description": "OK."}}
    spec: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1"},
        "paths": {
            "/v1/pages/home": {"put": {"responses": dict(answers)}, "get": {"responses": answers}},
            "/login": {"post": {"responses": dict(answers)}},
        },
    }
    try:
        document_idempotency(spec, keyed.route_policy)
    finally:
        keyed.close()
    validate(spec)
    assert_keyed(spec["paths"]["/v1/pages/home"]["put"], required=False)
    assert key_header(spec["paths"]["/v1/pages/home"]["get"]) is None
    assert key_header(spec["paths"]["/login"]["post"]) is None


class RoutedNote(BaseModel):
    title: str


def test_routes_of_an_included_router_document_their_preconditions() -> None:
    """FastAPI 0.165 keeps an included APIRouter whole in app.routes: its routes documented no
    If-Match, 412 nor 428 (every route of a real app built on routers), now as the app's own."""
    from fastapi import APIRouter

    def put_note(
        note_id: int, note: RoutedNote, conditions: Preconditions, response: Response
    ) -> Any:
        return {}

    app = FastAPI()
    install(app)
    router = APIRouter(prefix="/v1")
    router.put("/notes/{note_id}")(put_note)
    app.put("/notes/{note_id}")(put_note)
    app.include_router(router, prefix="/api")
    spec = app.openapi()
    validate(spec)
    own, included = (
        spec["paths"]["/notes/{note_id}"]["put"],
        spec["paths"]["/api/v1/notes/{note_id}"]["put"],
    )
    assert {"412", "428"} <= set(included["responses"])
    assert set(included["responses"]) == set(own["responses"])
    headers = [p["name"] for p in included.get("parameters", []) if p["in"] == "header"]
    assert "If-Match" in headers
