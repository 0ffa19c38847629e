"""Django: conflict-correct views, models and error answers.

    MIDDLEWARE = ["httpconflict.django.ProblemMiddleware", ...]

    @conditional(lambda request, pk: version_validators(Note.objects.filter(pk=pk).first()))
    def note(request, pk):
        if request.method == "PUT":
            written = versioned_update(Note, pk, json_body(request), request)  # 412 / 428 / 404
            ...

- `ProblemMiddleware` (_problems.py): every error answer is an RFC 9457
  problem: a raised `ProblemError`, an integrity error (409 naming the
  field), and Django's own 400/403/404/405/413/500 pages; a view's own
  tagged read says ``Cache-Control: no-cache`` unless it says its own.
  `IntegrityErrorMiddleware` does the integrity part alone.
- `server_error` (_server_error.py): Django's ``handler500``, answering a
  database outage raised outside the view (another middleware) as the
  503/504 problem `ProblemMiddleware` gives one raised inside it.
- `conditional`, `ConditionalGetMiddleware` (_conditional.py): 304, 412 and
  400 for GET and HEAD, decided by the core's `read_decision`; a read with
  a validator and no Cache-Control of the view's says ``no-cache``
  (`add_read_caching`, _caching.py), and so does its 304.
- `versioned_update`, `versioned_delete` (_versioned.py): the precondition
  checked inside the UPDATE statement, on an integer version column whose
  value is the row's strong ETag.
- `versioned_patch`, `request_patch` (_patch.py): a merge patch or JSON
  Patch of a row, checked the same way, and rebased when the client sends
  ``Prefer: rebase`` and the app keeps the row's versions.
- `request_conditions`, `json_body` (_requests.py): the request's
  preconditions and JSON body, refused with a 400/415/422 problem when
  malformed.
- `record_answer` (_keys.py): a keyed request's answer recorded in the
  view's ``transaction.atomic()``, with its write, under a transactional
  `IdempotencyPolicy` (the table: `httpconflict.django.models`).

Django REST framework: `httpconflict.django.rest_framework`.
"""

try:
    import django  # noqa: F401  # first: without it, the error names the extra
except ModuleNotFoundError as error:
    from .._extras import missing_extra

    raise missing_extra(error, "django", __name__) from None


from ._caching import add_read_caching
from ._conditional import (
    ConditionalGetMiddleware,
    answer_preconditions,
    conditional,
    not_modified,
    set_validators,
)
from ._keys import record_answer
from ._patch import request_patch, versioned_patch
from ._problems import (
    IntegrityErrorMiddleware,
    ProblemMiddleware,
    problem_response,
    status_problem,
)
from ._problems import error_response as error_response  # deprecated: problem_response
from ._requests import json_body, request_conditions
from ._server_error import server_error
from ._versioned import etag_of, version_validators, versioned_delete, versioned_update
from ._versioned import version_etag as version_etag  # deprecated: etag_of

__all__ = [
    "ConditionalGetMiddleware",
    "IntegrityErrorMiddleware",
    "ProblemMiddleware",
    "add_read_caching",
    "answer_preconditions",
    "conditional",
    "etag_of",
    "json_body",
    "not_modified",
    "problem_response",
    "record_answer",
    "request_conditions",
    "request_patch",
    "server_error",
    "set_validators",
    "status_problem",
    "version_validators",
    "versioned_delete",
    "versioned_patch",
    "versioned_update",
]
