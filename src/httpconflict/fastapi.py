"""FastAPI: preconditions as a dependency, every error a problem, both in the OpenAPI.

    from httpconflict.fastapi import Preconditions, install

    app = FastAPI()
    install(app)   # problem+json handlers, 304/412 for GET, OpenAPI responses

    @app.put("/notes/{note_id}")
    def put_note(note_id: int, note: NoteIn, conditions: Preconditions, ...):
        etag = versioned_update(session, Note, note_id, note.model_dump(), conditions)

`Preconditions` gives the handler the request's parsed If-Match,
If-None-Match, If-Modified-Since and If-Unmodified-Since as a
`RequestConditions` (a `Conditions` that also knows the method); a
malformed one is a 400 before a write's handler runs. A GET or HEAD is
decided by the core's `read_decision`: in the handler with
``conditions.check(current)`` (before the body is built), or from the
handler's answer by the `ConditionalMiddleware` that `install` adds. Both
give the same answers, and both ignore the preconditions of a 404 (RFC
9110 §13.2.1), malformed ones included.

Whether a write without a precondition gets a 428 depends on whether the
resource exists, and only the write can tell that without a race: an
existence check before it could see "absent" while another request
creates the resource, and the write would then overwrite blindly. So the
428 comes from the write itself: `conditions.write(read, write)` (or
`httpconflict.sqlalchemy`) runs the core write flow, whose `Guard` puts the
condition into the write's own statement, and answers 412, 428 or 404 from
what the store reports. A handler that has just read the resource's
validators can instead call `conditions.check(current)`: 304, 412 or 400
for GET, 412 or 428 for writes.

`install` also documents, for every route that depends on `Preconditions`,
its four header fields and the 304 (GET, HEAD), 409, 412 and 428 (writes)
answers, and for every route
its 400/404/415/422 answers, all as ``application/problem+json`` with a
``ProblemDetails`` schema; and on every route an `IdempotencyMiddleware`
added with ``app.add_middleware`` covers, the Idempotency-Key header and
its 400, 409, 422 and 503 answers (`openapi.document_idempotency`).
"""

from __future__ import annotations

try:
    import fastapi  # noqa: F401  # first: without it, the error names the extra
except ModuleNotFoundError as error:
    from ._extras import missing_extra

    raise missing_extra(error, "fastapi", __name__) from None

import inspect
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from types import CodeType
from typing import Annotated, Any, Final, cast

from fastapi import Depends, FastAPI, Request
from fastapi import routing as fastapi_routing
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from ._conditional_read import ReadOutcome, not_modified_fields, planned_fields, read_decision
from ._errors import (
    InvalidDocument,
    InvalidParameter,
    MalformedHeader,
    MalformedJSON,
    NotFound,
    ProblemError,
    UnsupportedMediaType,
)
from ._etag import ETag
from ._integrity_policy import DEFAULT_POLICY, Completes, IntegrityPolicy
from ._late_errors import AfterAnswer, after_answer
from ._media import (
    DEFAULT_MAX_BODY,
    check_body_size,
    content_type_of,
    parse_media_type,
    require_identity_coding,
)
from ._patch import Patch
from ._patch_flow import (
    Base,
    PatchDecision,
    PatchFlow,
    Snapshot,
    WriteDocument,
    arun_patch,
    patch_flow,
    run_patch,
)
from ._preconditions import SAFE_METHODS, Conditions, Decision, Validators, evaluate
from ._read_caching import REVALIDATE
from ._rebase import prefers_rebase
from ._refusals import decision_error, patch_refusal, refusal
from ._request_writes import current_writes
from ._write import (
    Guard,
    WriteDecision,
    WriteFlow,
    WriteResult,
    arun_write,
    run_write,
    write_flow,
)
from .asgi._writes import log_answer_stands
from .asgi.bodies import RequestBodyMiddleware
from .asgi.conditional import ConditionalMiddleware
from .asgi.idempotency import IdempotencyMiddleware, PolicyChoice, route_policy
from .openapi import Operation, RoutePolicy, document_idempotency, document_problems
from .starlette import Handler, problem_response
from .starlette import install as install_starlette

__all__ = [
    "NotModified",
    "PatchBody",
    "Preconditions",
    "RequestConditions",
    "install",
    "problem_response",
    "request_conditions",
    "request_patch",
    "validation_error_handler",
]


class NotModified(HTTPException):
    """A 304 for a GET or HEAD whose client has the current representation.

    RFC 9110 §15.4.5: the answer repeats the header fields its 200 would
    carry that the section lists: those of `fields` (set on the handler's
    answer so far: Vary, Content-Location...), the ETag (Last-Modified when
    there is no ETag), and the Cache-Control of `fields`, else
    `cache_control` (``no-cache``, as a read with a validator says when its
    handler says nothing; None: none). It has no body.
    """

    def __init__(
        self,
        current: Validators,
        *,
        cache_control: str | None = REVALIDATE,
        fields: Iterable[tuple[str, str]] = (),
    ) -> None:
        planned = planned_fields(current, fields, cache_control=cache_control)
        super().__init__(304, headers=dict(not_modified_fields(planned)))


@dataclass(frozen=True, slots=True)
class RequestConditions(Conditions):
    """The preconditions of one request, the method they apply to, and whether it asks for a
    stale patch to be rebased (``Prefer: rebase``).

    `malformed` is, for GET and HEAD, the field that could not be read: it
    is answered (400) by `check` once the resource is known to exist, since
    a 404 ignores every precondition (RFC 9110 §13.2.1). A write with a
    malformed field is refused (400) before its handler runs.
    """

    method: str = "GET"
    rebase: bool = False
    malformed: MalformedHeader | None = field(default=None, compare=False)
    #: The handler's answer (FastAPI's ``Response`` parameter), where `check` says how
    #: to cache a read; None when the conditions were parsed without one.
    answer: Response | None = field(default=None, compare=False, repr=False)
    #: What a read with validators says of caching when its handler says nothing
    #: (`install`'s ``read_cache_control``; None: nothing).
    cache_control: str | None = field(default=REVALIDATE, compare=False)

    @property
    def safe(self) -> bool:
        return self.method in SAFE_METHODS

    def check(self, current: Validators | None) -> Decision:
        """Evaluate against validators the handler has read; raise what stops the request.

        For GET and HEAD the core's `read_decision` decides: `NotModified`
        (304), `PreconditionFailed` (412) or `MalformedHeader` (400); with
        `current` None (nothing exists) the preconditions are ignored and
        the handler answers its 404. For a write to an existing resource:
        `PreconditionFailed` (412), or `PreconditionRequired` (428) without
        a precondition. Otherwise returns PROCEED. Check-then-write races
        unless the write re-checks: prefer `write`.

        A read of a resource with validators says ``Cache-Control:
        no-cache`` (`cache_control`; `install`'s ``read_cache_control``), on
        its 304 and on the handler's answer (its ``Response`` parameter),
        unless the handler set a Cache-Control there before calling this:
        then the 304 repeats that one, as it repeats the Vary,
        Content-Location, Date and Expires set there (RFC 9110 §15.4.5).
        """
        if self.safe:
            caching = self._read_caching(current)
            decided = read_decision(
                self.method,
                self if self.malformed is None else self.malformed,
                current,
                cache_control=caching,
            )
            if decided.outcome is ReadOutcome.NOT_MODIFIED:
                assert current is not None
                fields = () if self.answer is None else self.answer.headers.items()
                raise NotModified(current, cache_control=caching, fields=fields)
            if decided.error is not None:
                raise decided.error
            if caching is not None and self.answer is not None:
                self.answer.headers.setdefault("Cache-Control", caching)
            return Decision.PROCEED
        decision = evaluate(self.method, self, current, require_precondition=True)
        error = decision_error(decision, current, self)
        if error is not None:
            raise error
        return decision

    def _read_caching(self, current: Validators | None) -> str | None:
        """What the read's 200, and so its 304, says of caching: the handler's, or the default."""
        if current is None:
            return None
        # The handler sets `current`'s validators on its answer after this check.
        fields = () if self.answer is None else self.answer.headers.items()
        planned = planned_fields(current, fields, cache_control=self.cache_control)
        return next((value for name, value in planned if name.lower() == "cache-control"), None)

    def write(
        self,
        read: Callable[[], Validators | None],
        write: Callable[[Guard], WriteResult],
        *,
        requested: ETag | None = None,
        creates: bool | None = None,
    ) -> WriteDecision:
        """Write only if the stored version satisfies the preconditions, in one step.

        `write(guard)` must check `guard` in the same statement as its write
        (``UPDATE ... WHERE etag IN (...)``) and report a `WriteResult`;
        `read()` returns the current validators. Raises `PreconditionFailed`
        (with ``current_etag``), `PreconditionRequired`, `NotFound`, or a 503
        `Contended` error; returns the decision of a write that succeeded.
        """
        decision = run_write(self._flow(requested, creates), read, write)
        return _succeeded(decision, self)

    async def awrite(
        self,
        read: Callable[[], Awaitable[Validators | None]],
        write: Callable[[Guard], Awaitable[WriteResult]],
        *,
        requested: ETag | None = None,
        creates: bool | None = None,
    ) -> WriteDecision:
        """`write` with async store primitives."""
        decision = await arun_write(self._flow(requested, creates), read, write)
        return _succeeded(decision, self)

    def patch(
        self,
        patch: Patch,
        read: Callable[[], Snapshot | None],
        read_base: Callable[[tuple[str, ...]], Base | None],
        write: Callable[[WriteDocument], WriteResult],
    ) -> PatchDecision:
        """Apply `patch` to the version If-Match names, or rebase it when the request asks.

        `read()` gives the current `Snapshot` (validators and document);
        `read_base(tags)` the kept version one of the If-Match tags names
        (None: not kept; the rebase is then a 412); `write(command)` stores
        ``command.document`` only if ``command.guard`` holds, in the same
        statement. Raises the refusal (412, 409 with the clashes, 428, 404,
        503); returns the decision of a patch that succeeded.
        """
        decision = run_patch(self._patch_flow(patch), read, read_base, write)
        return _patched(decision, self)

    async def apatch(
        self,
        patch: Patch,
        read: Callable[[], Awaitable[Snapshot | None]],
        read_base: Callable[[tuple[str, ...]], Awaitable[Base | None]],
        write: Callable[[WriteDocument], Awaitable[WriteResult]],
    ) -> PatchDecision:
        """`patch` with async store primitives."""
        decision = await arun_patch(self._patch_flow(patch), read, read_base, write)
        return _patched(decision, self)

    def _patch_flow(self, patch: Patch) -> PatchFlow:
        return patch_flow(self, patch, rebase=self.rebase, now=datetime.now(UTC))

    def _flow(self, requested: ETag | None, creates: bool | None) -> WriteFlow:
        return write_flow(
            self.method,
            self,
            requested=requested,
            require_precondition=True,
            creates=creates,
            now=datetime.now(UTC),
        )


def _patched(decision: PatchDecision, conditions: Conditions) -> PatchDecision:
    error = patch_refusal(decision, conditions)
    if error is not None:
        raise error
    return decision


def _succeeded(decision: WriteDecision, conditions: Conditions) -> WriteDecision:
    error = refusal(decision, conditions)
    if error is not None:
        raise error
    return decision


def request_conditions(request: Request) -> RequestConditions:
    """The dependency behind `Preconditions`: parse the four fields.

    A malformed field is a 400 before a write's handler runs; for GET and
    HEAD it is kept in `malformed`, for `check` to answer.

    Every field line is read (a list may span several lines, RFC 9110 §5.3).
    The fields are not declared as FastAPI header parameters, whose
    extraction and validation cost a tenth of a conditional PUT's
    throughput (bench/adapters.py): `install` documents them instead.
    """
    try:
        parsed = Conditions.from_headers(request.headers.getlist)
    except MalformedHeader as error:
        if request.method not in SAFE_METHODS:
            raise
        # A GET's preconditions are ignored when the resource is absent
        # (RFC 9110 §13.2.1), so the 400 waits for `check`.
        return RequestConditions(method=request.method, malformed=error)
    return RequestConditions(
        parsed.if_match,
        parsed.if_none_match,
        parsed.if_modified_since,
        parsed.if_unmodified_since,
        method=request.method,
        rebase=prefers_rebase(request.headers.getlist("prefer")),
    )


def _answered_conditions(request: Request, response: Response) -> RequestConditions:
    """`request_conditions`, with the handler's answer and the app's caching for `check`."""
    caching = getattr(request.app.state, _READ_CACHE_CONTROL, REVALIDATE)
    return replace(request_conditions(request), answer=response, cache_control=caching)


#: Where `install` keeps its ``read_cache_control`` on the app's state.
_READ_CACHE_CONTROL: Final = "httpconflict_read_cache_control"


#: Annotate a handler parameter with this to receive the request's preconditions.
Preconditions = Annotated[RequestConditions, Depends(_answered_conditions)]


async def request_patch(request: Request) -> Patch:
    """The dependency behind `PatchBody`: a merge patch or JSON Patch (415, 400 otherwise).

    At most `DEFAULT_MAX_BODY` (1 MiB) of body is read: 413 past it; a
    body sent with a content coding (gzip) is a 415, unread.
    """
    content_type = content_type_of(request.headers.getlist("content-type"))
    return Patch.parse(content_type, await _read_body(request))


async def _read_body(request: Request, limit: int = DEFAULT_MAX_BODY) -> bytes:
    require_identity_coding(request.headers.getlist("content-encoding"))
    declared = request.headers.get("content-length", "")
    check_body_size(int(declared) if declared.isdigit() else None, limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        check_body_size(size, limit)
        chunks.append(chunk)
    return b"".join(chunks)


#: Annotate a handler parameter with this to receive the request's patch document.
PatchBody = Annotated[Patch, Depends(request_patch)]

_JSON_ACCEPTED: Final = ("application/json",)
_URLENCODED: Final = "application/x-www-form-urlencoded"
_MULTIPART: Final = "multipart/form-data"


async def validation_error_handler(request: Request, exc: Exception) -> Response:
    """FastAPI's validation errors as problems: 400 bad JSON, 415 not JSON, 422 invalid.

    An invalid path parameter names no resource (404); an invalid query,
    header or cookie parameter is a 400 naming it.
    """
    assert isinstance(exc, RequestValidationError)
    return problem_response(_validation_problem(request, exc))


def _validation_problem(request: Request, exc: RequestValidationError) -> ProblemError:
    errors = [
        {"location": list(e["loc"]), "message": e["msg"], "kind": e["type"]} for e in exc.errors()
    ]
    body = [e for e in errors if e["location"][:1] == ["body"]]
    if not body:
        first = errors[0]["location"] if errors else ["path"]
        if first[0] == "path":
            return NotFound(f"nothing exists at {request.url.path}")
        name = str(first[-1])
        return InvalidParameter(f"{name}: {errors[0]['message']}", parameter=name)
    content_type = request.headers.get("content-type")
    has_body = bool(exc.body) if isinstance(exc.body, bytes | str) else exc.body is not None
    accepted = _route_media_types(request)
    if accepted != _JSON_ACCEPTED:
        # A route of Form() / File() fields: its body is read as a form whatever its type
        # (FastAPI's exc.body is then the form read, never None); none sent: its fields' 422.
        if content_type is not None and parse_media_type(content_type)[0] not in accepted:
            return UnsupportedMediaType(
                f"the body must be a form; send Content-Type: {' or '.join(accepted)} "
                f"(got {content_type!r})",
                accept=accepted,
            )
    elif has_body and not _is_json(content_type):
        return UnsupportedMediaType(
            f"the body must be JSON; send Content-Type: application/json (got {content_type!r})",
            accept=_JSON_ACCEPTED,
        )
    for raw in exc.errors():
        if raw["type"] == "json_invalid":
            reason = raw.get("ctx", {}).get("error", "")
            return MalformedJSON(f"the body is not valid JSON: {reason} at offset {raw['loc'][-1]}")
    summary = "; ".join(f"{_where(e['location'])}: {e['message']}" for e in body)
    return InvalidDocument(f"the body is not acceptable here: {summary}", errors=body)


def _route_media_types(request: Request) -> tuple[str, ...]:
    """What the matched route's body is read as: JSON, or a form (FastAPI's ``Form``, ``File``).

    FastAPI reads a ``Form()`` route's body with Starlette's form parser,
    which takes both form encodings; a route with a ``File()`` field
    takes multipart alone.
    """
    field = getattr(request.scope.get("route"), "body_field", None)
    media = getattr(getattr(field, "field_info", None), "media_type", None)
    if media == _MULTIPART:
        return (_MULTIPART,)
    if media == _URLENCODED:
        return (_URLENCODED, _MULTIPART)
    return _JSON_ACCEPTED


def _where(location: list[Any]) -> str:
    return ".".join(map(str, location[1:])) or "body"


def _is_json(content_type: str | None) -> bool:
    if not content_type:
        return False
    essence, _ = parse_media_type(content_type)
    return essence == "application/json" or (
        essence.startswith("application/") and essence.endswith("+json")
    )


def install(
    app: FastAPI,
    *,
    policy: IntegrityPolicy = DEFAULT_POLICY,
    catalog: Completes | None = None,
    error_types: Iterable[type[BaseException]] | None = None,
    server_errors: bool = True,
    conditional_get: bool = True,
    openapi: bool = True,
    request_bodies: bool = True,
    max_body: int | None = DEFAULT_MAX_BODY,
    hold_write_answers: bool = True,
    read_cache_control: str | None = REVALIDATE,
) -> None:
    """Make `app` answer every error as a problem, and say so in its OpenAPI document.

    Registers `httpconflict.starlette.install`'s handlers (problems, HTTP
    exceptions, integrity errors, 500s) and `validation_error_handler`;
    with `conditional_get`, adds `ConditionalMiddleware` (304/412 for GET
    and HEAD from the handlers' own ETag). A read whose answer carries a
    validator and no Cache-Control of the handler's says
    `read_cache_control` (``no-cache``: a cache keeps it past a PUT through
    it otherwise; None: nothing), and so does its 304, from the middleware
    (without `conditional_get` too) and from ``conditions.check``. With `openapi`, documents the
    answers (see the module's docstring). With `request_bodies`, adds
    `RequestBodyMiddleware`: FastAPI reads a pydantic model's body whole,
    whatever its size, so a body past `max_body` bytes (1 MiB; None: no
    limit) is a 413 before it is read, and a content-coded one (gzip) a 415
    naming what is taken. An app that decodes coded bodies itself passes
    ``request_bodies=False``. With `hold_write_answers`, a write's answer
    waits for the end of the request (the exits of its ``yield``
    dependencies, and its background tasks before them), so that a
    dependency's COMMIT that fails is a 504 outcome-unknown, not the
    view's 200 for a save not made, and one the database refuses (a
    deferred constraint) is the 409 its violation gets in the view. A
    ``Depends(..., scope="function")`` dependency (before FastAPI 0.118,
    every ``yield`` dependency) exits before the answer goes out: a
    database outage of its session's close then leaves the answer the
    view formed (a save it committed is durable), logged under an
    incident, instead of a 503 or 504 (`_formed_answer_first`).
    """
    install_starlette(
        app,
        policy=policy,
        catalog=catalog,
        error_types=error_types,
        server_errors=server_errors,
        request_bodies=False,  # added below, outermost
        hold_write_answers=hold_write_answers,
        # `ConditionalMiddleware` says it, when added; else Starlette's middleware.
        read_cache_control=None if conditional_get else read_cache_control,
    )
    for error_type, handler in list(app.exception_handlers.items()):
        if isinstance(error_type, type) and not issubclass(error_type, _NOT_LATE):
            app.exception_handlers[error_type] = _formed_answer_first(handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    setattr(app.state, _READ_CACHE_CONTROL, read_cache_control)
    if conditional_get:
        app.add_middleware(ConditionalMiddleware, cache_control=read_cache_control)
    if request_bodies:
        # Added last, so outermost of these: a refused body reaches no other.
        app.add_middleware(RequestBodyMiddleware, max_bytes=max_body)
    if openapi:
        generate = app.openapi
        documented: list[dict[str, Any]] = []

        def openapi_with_problems() -> dict[str, Any]:
            schema = generate()
            if not any(schema is done for done in documented):
                document_problems(schema, operations(app))
                for policy in idempotency_policies(app):
                    document_idempotency(schema, policy)
                documented.append(schema)
            return schema

        # FastAPI's documented way to extend the schema is replacing this method.
        app.openapi = openapi_with_problems  # type: ignore[method-assign]


def operations(app: FastAPI) -> list[Operation]:
    """`app`'s documented routes, with what decides their problem answers."""
    return [
        Operation(
            route.path_format,
            method,
            preconditions=_depends_on(route.dependant, request_conditions, _answered_conditions),
            body=route.body_field is not None,
            path_parameters=_any_params(route.dependant, "path_params"),
            other_parameters=_any_params(route.dependant, "query_params", "cookie_params"),
        )
        for route in _api_routes(app)
        if route.include_in_schema
        for method in sorted(route.methods or ())
    ]


def _api_routes(app: FastAPI) -> list[Any]:
    """`app`'s API routes, those of included routers too, each as the app serves it.

    From FastAPI 0.165 ``include_router`` keeps the router whole in
    ``app.routes``; `iter_route_contexts` gives its routes with the
    prefix, dependencies and the rest of the include applied (the schema's
    own way to them). Before, the routes were copied into ``app.routes``.
    """
    contexts = getattr(fastapi_routing, "iter_route_contexts", None)
    if contexts is None:
        return [route for route in app.routes if isinstance(route, APIRoute)]
    return [c for c in contexts(app.routes) if isinstance(c.original_route, APIRoute)]


def idempotency_policies(app: FastAPI) -> list[RoutePolicy]:
    """The policies of the `IdempotencyMiddleware`s added with ``app.add_middleware``."""
    return [
        # The middleware's own signature types its keyword arguments.
        route_policy(cast(PolicyChoice | None, middleware.kwargs.get("policy")))
        for middleware in app.user_middleware
        if isinstance(middleware.cls, type) and issubclass(middleware.cls, IdempotencyMiddleware)
    ]


def _depends_on(dependant: Dependant, *calls: Callable[..., Any]) -> bool:
    return any(d.call in calls or _depends_on(d, *calls) for d in dependant.dependencies)


def _any_params(dependant: Dependant, *kinds: str) -> bool:
    return any(getattr(dependant, kind) for kind in kinds) or any(
        _any_params(d, *kinds) for d in dependant.dependencies
    )


#: The errors a dependency's exit does not meet after its view: no formed answer to keep.
_NOT_LATE: Final = (ProblemError, HTTPException, ClientDisconnect)


def _formed_answer_first(
    handler: Callable[[Request, Any], Response | Awaitable[Response]],
) -> Handler:
    """`handler`, but an outage of a close after the view formed its answer leaves the answer.

    FastAPI exits a ``Depends(..., scope="function")`` dependency (before
    FastAPI 0.118, every ``yield`` dependency) after the view returned and
    its answer was formed, before it goes out; an error
    raised there drops that answer for the error's handler. A session's
    close that meets a database outage there (its ROLLBACK of what was left
    open) changes nothing the answer says: what the view committed is
    committed (`_late_errors.AfterAnswer.STANDS`), as when a dependency of
    the default scope closes it after the answer went out. A COMMIT there
    that fails, or is refused, is answered by `handler` (504, 409).
    """

    async def handle(request: Request, exc: Exception) -> Response:
        formed = _formed_before_exit(exc)
        if formed is not None:
            writes = current_writes()
            decision = after_answer(
                exc,
                formed=True,
                sent=False,
                commit_failed=writes is not None and writes.failed_commits > 0,
            )
            if decision is AfterAnswer.STANDS:
                log_answer_stands(f"{request.method} {request.url.path}", exc)
                return formed
        answered = handler(request, exc)
        return await answered if inspect.isawaitable(answered) else answered

    return handle


def _inner_codes(function: Callable[..., Any]) -> frozenset[CodeType]:
    """The code of the functions defined in `function`, at any depth."""
    found: set[CodeType] = set()
    todo = [function.__code__]
    while todo:
        for const in todo.pop().co_consts:
            if isinstance(const, CodeType) and const not in found:
                found.add(const)
                todo.append(const)
    return frozenset(found)


def _request_handlers() -> frozenset[CodeType]:
    """The code of the FastAPI function that forms a view's answer in a dependencies' exit stack.

    From FastAPI 0.118 its own ``request_response`` forms the answer in the
    exit stack of the function-scoped dependencies, then sends it. Before,
    ``request_response`` is Starlette's, and the route's handler
    (``get_request_handler``) formed it in the exit stack of every ``yield``
    dependency, which then all exited before the answer went out.
    """
    own = fastapi_routing.request_response
    if own.__module__ == fastapi_routing.__name__:
        return _inner_codes(own)
    return _inner_codes(fastapi_routing.get_request_handler)


#: The code of FastAPI's request handler, which forms the view's answer in its
#: function-scoped dependencies' exit stack, then sends it.
_REQUEST_HANDLERS: Final = _request_handlers()


def _formed_before_exit(error: BaseException) -> Response | None:
    """The answer FastAPI formed before the exit of a function-scoped dependency raised `error`.

    Found in the frame of FastAPI's request handler that `error` went
    through: its view returned (the answer is formed), the answer was not
    sent, and the error came out of an exit stack (`_request_handlers`). None when there is no
    such frame (another FastAPI's, an error of the view itself).
    """
    tb = error.__traceback__
    while tb is not None and tb.tb_next is not None:
        frame = tb.tb_frame
        if frame.f_code in _REQUEST_HANDLERS:
            found = frame.f_locals
            formed = found.get("response")
            if (
                isinstance(formed, Response)
                # Before FastAPI 0.118 the handler never sends it: no such flag.
                and found.get("response_awaited", False) is False
                and tb.tb_next.tb_frame.f_code.co_name == "__aexit__"
            ):
                return formed
            return None
        tb = tb.tb_next
    return None
