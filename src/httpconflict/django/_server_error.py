"""Django's ``handler500``: a database outage outside the view is a 503/504 problem, not a 500.

Theory of operation: `ProblemMiddleware` answers what a view raises, but
an error raised in another middleware (``SessionMiddleware`` saving the
session on the way out, ``AuthenticationMiddleware``'s user loaded by a
middleware before the view) never reaches its ``process_exception``:
Django turns it into its 500 at the middleware that raised it, by calling
the URLconf's ``handler500`` view inside its ``except`` block, where
`sys.exc_info()` still holds the error. `server_error` reads it there and
answers an outage as the core decides (`httpconflict.outage`): a 503 with
Retry-After, or a 504 for a write whose connection broke, or that failed
after its view ran (the view's writes may be in the database: its
`ProblemMiddleware` marks the request when the view is called; without
it, an unsafe request's view is taken to have run). Anything else is the
500 problem, which says nothing of the error, unless the request committed
a write first: then it says part of it was applied, under an incident
(`httpconflict._server_error`). With ``DEBUG`` on, Django
shows its debugging page instead and never calls ``handler500``.
"""

from __future__ import annotations

import sys

from django.http import HttpRequest, HttpResponse

from .._errors import ProblemError
from .._request_writes import committed_writes
from .._server_error import server_error_problem
from ._own_statements import database_outage
from ._problems import VIEW_CALLED, problem_response


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500 = "httpconflict.django.server_error"``: an outage 503/504, else a 500."""
    error = sys.exc_info()[1]
    if isinstance(error, ProblemError):
        return problem_response(error)
    if error is not None:
        ran = getattr(request, VIEW_CALLED, None)
        failure = database_outage(
            error, request.method or "GET", handler_ran=True if ran is None else bool(ran)
        )
        if failure is not None:
            return problem_response(failure)
    return problem_response(
        server_error_problem(
            request.method or "GET", request.path, error, committed=committed_writes()
        )
    )
