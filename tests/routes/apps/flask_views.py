"""Class-based API views in Flask-AppBuilder's shape: one method, registered bound to each view.

Each view registers its own bound ``info`` under its base URL, as
Flask-AppBuilder's ``ModelRestApi`` does for every API. Superset's
annotations API is based at the annotation layers' URL, so its
``_info`` is registered first there and the layers' own is never
served: a report naming both by the method's class (``Api.info``, the
same on both sides) does not say which is which.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import Flask


def exposed(method: Callable[..., Any]) -> Callable[..., Any]:
    """A decorator that keeps the method's name, as Flask-AppBuilder's ``@protect`` does."""

    @functools.wraps(method)
    def wrapper(self: Api) -> dict[str, str]:
        result: dict[str, str] = method(self)
        return result

    return wrapper


class Api:
    """A view serving ``BASE/_info`` with its own bound method."""

    base = "/"

    @exposed
    def info(self) -> dict[str, str]:
        return {"view": type(self).__name__}

    def register(self, app: Flask) -> None:
        app.add_url_rule(f"{self.base}/_info", f"{type(self).__name__}.info", self.info)


class AnnotationApi(Api):
    base = "/api/v1/annotation_layer"  # its items live under the layers' URL


class AnnotationLayerApi(Api):
    base = "/api/v1/annotation_layer"


class ChartApi(Api):
    base = "/api/v1/chart"


def create_app() -> Flask:
    app = Flask(__name__)
    for view in (AnnotationApi(), AnnotationLayerApi(), ChartApi()):
        view.register(app)
    return app
