"""Flask: integrity errors answered as 409/422 problem details.

    from httpconflict.flask import HTTPConflict

    app = Flask(__name__)
    HTTPConflict(app)          # or HTTPConflict().init_app(app) in a factory

A view whose write breaks a UNIQUE constraint then answers 409
``application/problem+json`` naming the field instead of a 500; other
errors go on to Flask's own handling.
"""

from __future__ import annotations

from flask import Flask, Response

from ._integrity import classify
from ._integrity_policy import DEFAULT_POLICY, Completes, IntegrityPolicy
from ._problem import MEDIA_TYPE, ProblemDetails
from .drivers import database_error_types


def problem_response(problem: ProblemDetails) -> Response:
    """An ``application/problem+json`` response carrying `problem`."""
    return Response(problem.to_json(), status=problem.status or 500, mimetype=MEDIA_TYPE)


class HTTPConflict:
    """The Flask extension: registers the integrity error handler on an app.

    `catalog` (a `Catalog`, or a `CatalogCache` that loads one when first
    needed) names the columns of constraints an error names only by name.
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        policy: IntegrityPolicy = DEFAULT_POLICY,
        catalog: Completes | None = None,
    ) -> None:
        self.policy = policy
        self.catalog = catalog
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        for error_type in database_error_types():
            app.register_error_handler(error_type, self.handle_integrity_error)
        app.extensions["httpconflict"] = self

    def handle_integrity_error(self, error: BaseException) -> Response:
        violation = classify(error)
        if violation is None:
            raise error
        if self.catalog is not None:
            violation = self.catalog.complete(violation)
        return problem_response(self.policy.problem(violation))
