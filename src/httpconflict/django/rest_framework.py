"""Django REST framework: conditional model viewsets, and every error as a problem.

    REST_FRAMEWORK = {
        "EXCEPTION_HANDLER": "httpconflict.django.rest_framework.exception_handler",
        "DEFAULT_PARSER_CLASSES": ["httpconflict.django.rest_framework.JSONParser"],
    }

    class NoteViewSet(ConditionalModelMixin, viewsets.ModelViewSet):
        queryset = Note.objects.all()          # Note has version = PositiveIntegerField(default=1)
        serializer_class = NoteSerializer

`ConditionalModelMixin` makes ``retrieve`` send the row's ETag (its
version) and ``Cache-Control: no-cache`` (`read_cache_control`), and
answer 304, 412 and 400 as the core's `read_decision` decides; ``update``, ``partial_update`` and
``destroy`` require If-Match (428 without it) and write with
`versioned_update` / `versioned_delete`, which check it in the UPDATE
statement itself (412 when stale). ``create`` answers with the ETag and
the Location of the new row.

`exception_handler` renders `ProblemError`s, integrity errors (409 naming
the field) and REST framework's own errors as ``application/problem+json``.
A `ValidationError` is a 422 (RFC 9110 §15.5.21: the content is
well-formed but cannot be processed) with the per-field messages in
``errors``, except that one raised by a `UniqueValidator` is the 409 the
database's unique index would have answered, so a duplicate gets the same
answer whichever of the two caught it.
"""

from __future__ import annotations

try:
    import rest_framework  # noqa: F401  # first: without it, the error names the extra
except ModuleNotFoundError as error:
    from .._extras import missing_extra

    raise missing_extra(error, "drf", __name__) from None

import inspect
from types import CodeType
from typing import TYPE_CHECKING, Any, Final

from django.conf import settings
from django.db import transaction
from django.urls import NoReverseMatch
from rest_framework import exceptions, mixins, parsers
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as rest_exception_handler
from rest_framework.views import set_rollback

from .._errors import ProblemError
from .._incidents import log
from .._integrity import Violation, ViolationKind
from .._integrity_policy import DEFAULT_POLICY, IntegrityPolicy
from .._media import (
    JSON,
    check_body_size,
    parse_json,
    parse_media_type,
    require_identity_coding,
    require_media_type,
)
from .._preconditions import evaluate
from .._problem import INVALID_DOCUMENT, MALFORMED_JSON, UNSUPPORTED_MEDIA_TYPE, ProblemDetails
from .._read_caching import REVALIDATE
from .._refusals import decision_error
from .._unstorable import unstorable_value
from ._caching import add_read_caching
from ._conditional import answer_preconditions, set_validators
from ._own_statements import database_outage
from ._problems import integrity_problem_of, problem_response, status_problem
from ._requests import header_lines, request_conditions
from ._versioned import etag_of, version_validators, versioned_delete, versioned_update

__all__ = [
    "ConditionalModelMixin",
    "JSONParser",
    "exception_handler",
]

#: Header fields of REST framework's error answers that a client acts on.
_KEPT_HEADERS: Final = ("WWW-Authenticate", "Retry-After")


class _Absent:
    """An action the viewset's own bases do not have: hidden from the router and from hasattr."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, instance: object, owner: type | None = None) -> Any:
        raise AttributeError(self.name)


#: The actions the mixin makes conditional; each one only where the viewset has it.
_ACTIONS: Final = ("retrieve", "create", "update", "partial_update", "destroy")
_MODEL_MIXINS: Final = (
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    mixins.ListModelMixin,
)


def _defines(cls: type, name: str) -> bool:
    return any(name in vars(base) for base in cls.__mro__)


#: What each action of the mixin does that a replacement of it does not, and what to use.
_LOST: Final = {
    "retrieve": (
        "its GETs send no ETag and answer no If-None-Match or If-Match",
        "set its answer's ETag with httpconflict.django.etag_of and check it with "
        "ConditionalGetMiddleware",
    ),
    "update": (
        "its PUTs check no If-Match, and concurrent writes are lost",
        "write with httpconflict.django.versioned_update",
    ),
    "partial_update": (
        "its PATCHes check no If-Match, and concurrent writes are lost",
        "write with httpconflict.django.versioned_update or versioned_patch",
    ),
    "destroy": (
        "its DELETEs check no If-Match",
        "delete with httpconflict.django.versioned_delete",
    ),
}
#: Names that show a replacement does the mixin's work itself: it calls the mixin's
#: action, or writes (or tags its answer) with httpconflict's own helpers.
_DOES_IT: Final = frozenset(
    {
        "super",
        "ConditionalModelMixin",
        "versioned_update",
        "versioned_delete",
        "versioned_patch",
        "etag_of",
        "request_conditions",
    }
)
#: (class, action) pairs already warned of: a subclass inherits the same replacement.
_warned: set[tuple[type, str]] = set()


def _warn_replaced(cls: type) -> None:
    """Log each action of the mixin that a class before it in the MRO replaces without
    doing its work: the viewset's own ``update``, say, wins over the mixin's whatever the
    order of the bases, and nothing is conditional there."""
    late = [
        action
        for action in _ACTIONS
        if (owner := _owner(cls, action)) is not None and owner.__module__ == mixins.__name__
    ]
    if late and ConditionalModelMixin in cls.__bases__:  # once: where the bases are written
        log.warning(
            "REST framework: %s puts ConditionalModelMixin after REST framework's mixins, "
            "whose %s run instead of its conditional ones; put it first in the bases",
            cls.__qualname__,
            ", ".join(late),
        )
    for action, (lost, instead) in _LOST.items():
        owner = _owner(cls, action)
        if owner is None or owner.__module__ == mixins.__name__ or (owner, action) in _warned:
            continue
        code = getattr(vars(owner)[action], "__code__", None)
        if code is None or _DOES_IT & _names(code):
            continue  # it does the mixin's work (or is no plain function: not ours to judge)
        _warned.add((owner, action))
        log.warning(
            "REST framework: %s.%s (%s:%s) replaces ConditionalModelMixin.%s and never calls "
            "it: %s. Remove it, call super().%s(...), or %s (docs/django.md)",
            owner.__qualname__,
            action,
            code.co_filename,
            code.co_firstlineno,
            action,
            lost,
            action,
            instead,
        )


def _names(code: CodeType) -> set[str]:
    """The global and attribute names a function's code uses, its nested functions' too."""
    names: set[str] = set()
    stack = [code]
    while stack:
        current = stack.pop()
        names.update(current.co_names, current.co_freevars)
        stack.extend(c for c in current.co_consts if isinstance(c, CodeType))
    return names


def _owner(cls: type, action: str) -> type | None:
    """The class whose `action` the viewset runs, when it is not the mixin's own."""
    for base in cls.__mro__:
        if action in vars(base):
            found = vars(base)[action]
            if base is ConditionalModelMixin or isinstance(found, _Absent):
                return None
            return base
    return None


class ConditionalModelMixin:
    """Optimistic concurrency for a model viewset, on an integer version column.

    Put it before ``ModelViewSet`` (or the REST framework mixins) in the
    bases. The model needs ``version = models.PositiveIntegerField(default=1)``
    (named by `version_field`). An update is one UPDATE statement built
    from the serializer's ``validated_data``, which checks the version and
    bumps it; ``perform_update`` is not called. What that statement cannot
    write (many-to-many fields, a nested serializer's data) goes to the
    serializer's ``update()`` afterwards, in the same transaction, under
    the row lock the UPDATE took.

    On a viewset made of REST framework's model mixins it makes conditional
    only the actions those give: without ``CreateModelMixin`` it adds no
    POST route, without ``RetrieveModelMixin`` no detail GET. On a bare
    ``GenericViewSet`` it gives every action but create.
    """

    version_field: str = "version"
    #: What ``retrieve``'s 200 and 304 say of caching when its answer says nothing:
    #: ``no-cache``, a cache asks before each use (None: nothing). A Cache-Control
    #: set on the answer is kept; one set by a decorator around ``retrieve`` is
    #: added to this one (Django's ``patch_cache_control``), so set it here instead.
    read_cache_control: str | None = REVALIDATE

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # A viewset made of REST framework's model mixins chose its actions;
        # one on GenericViewSet alone takes the mixin's (but create, which
        # needs CreateModelMixin's perform_create).
        composed = issubclass(cls, _MODEL_MIXINS)
        for action in _ACTIONS:
            has = any(
                action in vars(base) and not isinstance(vars(base)[action], _Absent)
                for base in cls.__mro__
                if base is not ConditionalModelMixin
            )
            if (composed and not has) or (
                action == "create" and not _defines(cls, "perform_create")
            ):
                setattr(cls, action, _Absent(action))
            elif isinstance(inspect.getattr_static(cls, action), _Absent):
                # A mixin of the app's on this one hid it; this viewset has it.
                setattr(cls, action, vars(ConditionalModelMixin)[action])
        _warn_replaced(cls)

    if TYPE_CHECKING:  # provided by GenericAPIView and ViewSetMixin
        lookup_field: str
        lookup_url_kwarg: str | None

        def get_object(self) -> Any: ...
        def get_queryset(self) -> Any: ...
        def get_serializer(self, *args: Any, **kwargs: Any) -> Any: ...
        def perform_create(self, serializer: Any) -> None: ...
        def reverse_action(self, url_name: str, *args: Any, **kwargs: Any) -> str: ...

    def retrieve(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        instance = self.get_object()  # 404 first: preconditions are then ignored (§13.2.1)
        current = self.validators(instance)
        caching = self.read_cache_control
        not_modified = answer_preconditions(request, current, cache_control=caching)
        if not_modified is not None:
            return not_modified
        response = Response(self.get_serializer(instance).data, headers=self.etag_header(instance))
        set_validators(response, current)  # Last-Modified, when `validators` gives one
        add_read_caching(request, response, caching)
        return response

    def create(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        self.perform_create(serializer)
        headers = {**self.etag_header(serializer.instance), **self.location(serializer.instance)}
        return Response(serializer.data, status=201, headers=headers)

    def update(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        conditions = request_conditions(request)
        instance = self.get_object()
        current = self.validators(instance)
        # Evaluated on the row just read, before the body (RFC 9110
        # §13.2.1): a write without If-Match is told so whatever its body
        # (RFC 6585 §3), and a stale one is a 412 even when its body is wrong.
        early = evaluate(request.method, conditions, current, require_precondition=True)
        error = decision_error(early, current, conditions)
        if error is not None:
            raise error
        serializer = self.get_serializer(
            instance, data=request.data, partial=kwargs.pop("partial", False)
        )
        serializer.is_valid(raise_exception=True)
        queryset = self.get_queryset()
        columns, rest = _split_by_columns(queryset.model, serializer.validated_data)
        with transaction.atomic(using=queryset.db):
            written = versioned_update(
                queryset, instance.pk, columns, conditions, version_field=self.version_field
            )
            if rest:  # many-to-many and nested writes, under the row's lock, the version bumped
                serializer.update(written.row, rest)
        return Response(
            self.get_serializer(written.row).data, headers={"ETag": written.etag.to_header()}
        )

    def partial_update(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        return self.update(request, *args, partial=True, **kwargs)

    def destroy(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        conditions = request_conditions(request)
        instance = self.get_object()  # 404 and object permissions first
        versioned_delete(
            self.get_queryset(), instance.pk, conditions, version_field=self.version_field
        )
        return Response(status=204)

    def validators(self, instance: Any) -> Any:
        """The current validators of a row (override to add Last-Modified)."""
        return version_validators(instance, self.version_field)

    def etag_header(self, instance: Any) -> dict[str, str]:
        return {"ETag": etag_of(instance, version_field=self.version_field).to_header()}

    def location(self, instance: Any) -> dict[str, str]:
        """The Location of a created row: its detail route, as a path, when it has one."""
        lookup = self.lookup_url_kwarg or self.lookup_field
        kwargs = {lookup: getattr(instance, self.lookup_field)}
        try:
            return {"Location": self.reverse_action("detail", kwargs=kwargs, request=None)}
        except NoReverseMatch:
            return {}


def _split_by_columns(model: Any, values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """`values` the UPDATE can write (the model's own columns), and the rest."""
    names = {f.name for f in model._meta.concrete_fields} | {
        f.attname for f in model._meta.concrete_fields
    }
    columns = {name: value for name, value in values.items() if name in names}
    rest = {name: value for name, value in values.items() if name not in names}
    return columns, rest


class JSONParser(parsers.BaseParser):  # type: ignore[misc]  # REST framework ships no types
    """REST framework's JSON parser, as strict as the core's `parse_json`.

    It refuses what another parser could read differently: a body that is
    not UTF-8 (400), a charset other than UTF-8 (415), NaN or Infinity (400),
    an object that repeats a member (422), a body sent with a content coding
    (gzip: 415, naming what is taken); and it reads at most
    DATA_UPLOAD_MAX_MEMORY_SIZE bytes, as Django's `request.body` does (413).
    """

    media_type = JSON

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        require_media_type(media_type, (JSON,))
        request = (parser_context or {}).get("request")
        if request is not None:
            require_identity_coding(header_lines(request)("Content-Encoding"))
        # REST framework hands the request's stream over, which Django does not
        # hold to DATA_UPLOAD_MAX_MEMORY_SIZE as it holds `request.body`.
        limit: int | None = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        body: bytes = stream.read() if limit is None else stream.read(limit + 1)
        check_body_size(len(body), limit)
        return parse_json(body)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Any:
    """REST framework's EXCEPTION_HANDLER, answering with problem details.

    Returns None (REST framework then re-raises) for errors that are not
    REST framework's, Django's 404 and 403, a `ProblemError`, an
    integrity violation or a database outage (503, 504).
    """
    if isinstance(exc, ProblemError):
        set_rollback()
        return problem_response(exc)
    policy: IntegrityPolicy = getattr(settings, "HTTPCONFLICT_INTEGRITY_POLICY", DEFAULT_POLICY)
    read_catalog: bool = getattr(settings, "HTTPCONFLICT_CATALOG", True)
    problem = integrity_problem_of(exc, policy, read_catalog=read_catalog)
    if problem is not None:
        set_rollback()
        return problem_response(problem)
    request = context.get("request")
    method = getattr(request, "method", None) or "GET"
    failure = database_outage(exc, method) or unstorable_value(exc)
    if failure is not None:
        set_rollback()
        return problem_response(failure)
    response = rest_exception_handler(exc, context)  # also rolls back
    if response is None:
        return None
    headers = {name: response[name] for name in _KEPT_HEADERS if response.has_header(name)}
    return problem_response(_problem_of(exc, response.status_code, context, policy), headers)


def _problem_of(
    exc: Exception, status: int, context: dict[str, Any], policy: IntegrityPolicy
) -> ProblemDetails:
    if isinstance(exc, exceptions.ValidationError):
        unique = _unique_fields(exc.get_codes())
        if unique:
            return policy.problem(Violation(ViolationKind.UNIQUE, "django", columns=unique))
        return INVALID_DOCUMENT.problem(
            "the request body does not pass validation: `errors` says why, per field",
            errors=exc.detail,
        )
    detail = getattr(exc, "detail", None)
    detail = detail if isinstance(detail, str) else None
    request = context.get("request")
    if isinstance(exc, exceptions.UnsupportedMediaType) and request is not None:
        accept = [parser.media_type for parser in request.parsers]
        return UNSUPPORTED_MEDIA_TYPE.problem(detail, accept=accept)
    if isinstance(exc, exceptions.ParseError) and request is not None:
        essence, _ = parse_media_type(request.content_type or "")
        if essence == JSON or essence.endswith("+json"):
            return MALFORMED_JSON.problem(detail)
    return status_problem(status, detail)


def _unique_fields(codes: Any) -> tuple[str, ...]:
    """The fields a `UniqueValidator` refused, when nothing else was wrong."""
    if not isinstance(codes, dict) or not codes or api_settings.NON_FIELD_ERRORS_KEY in codes:
        return ()
    for field_codes in codes.values():
        if not isinstance(field_codes, list) or set(field_codes) != {"unique"}:
            return ()
    return tuple(codes)
