"""Finding the app that ``MODULE:APP`` names, the way uvicorn does, and which framework it is.

``MODULE:APP`` imports MODULE and follows APP, a dotted attribute path,
optionally called as a factory: ``pkg.app:create_app()``, with literal
arguments if it needs them (``create_app('dev.db', debug=True)``; nothing
else is evaluated). A bare MODULE names a Django settings module (one with
ROOT_URLCONF), set as DJANGO_SETTINGS_MODULE before it is imported. The
object found may be wrapped in middleware: each ``.app`` (ASGI and WSGI
middleware keep the app they wrap there) is followed until a Starlette
app or router, a Flask app, or a Django handler appears. Werkzeug's
DispatcherMiddleware met on the way is kept: its mounts are routes too.
"""

from __future__ import annotations

import ast
import importlib
import os
import sys
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any


class TargetError(Exception):
    """``MODULE:APP`` cannot be loaded; the message says why, in one line."""


@dataclass(frozen=True, slots=True)
class Target:
    """``MODULE:APP`` taken apart."""

    module: str
    #: Dotted attributes to follow; empty for a Django settings module.
    attributes: tuple[str, ...] = ()
    #: A factory call's literal arguments, None when APP is not called.
    args: tuple[Any, ...] | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class App:
    """The app found, and its framework: "starlette", "flask" or "django"."""

    framework: str
    app: Any
    #: Werkzeug DispatcherMiddleware objects met around a Flask app.
    dispatchers: tuple[Any, ...] = ()


def parse_target(text: str) -> Target:
    """``MODULE[:APP]`` as a `Target`; ValueError when it is not one."""
    module, colon, expression = text.partition(":")
    if not module or any(not part.isidentifier() for part in module.split(".")):
        raise ValueError(f"{text!r} is not MODULE:APP (MODULE a dotted module name)")
    if not colon:
        return Target(module)
    try:
        tree = ast.parse(expression.strip(), mode="eval").body
    except SyntaxError:
        raise ValueError(f"{text!r}: APP must be a name or a call like create_app()") from None
    args: tuple[Any, ...] | None = None
    kwargs: dict[str, Any] = {}
    if isinstance(tree, ast.Call):
        try:
            args = tuple(ast.literal_eval(arg) for arg in tree.args)
            kwargs = {kw.arg: ast.literal_eval(kw.value) for kw in tree.keywords if kw.arg}
        except ValueError:
            raise ValueError(f"{text!r}: a factory's arguments must be literals") from None
        if any(kw.arg is None for kw in tree.keywords):
            raise ValueError(f"{text!r}: a factory's arguments must be literals")
        tree = tree.func
    attributes: list[str] = []
    while isinstance(tree, ast.Attribute):
        attributes.insert(0, tree.attr)
        tree = tree.value
    if not isinstance(tree, ast.Name):
        raise ValueError(f"{text!r}: APP must be a name or a call like create_app()")
    return Target(module, (tree.id, *attributes), args, kwargs)


def load(target: Target) -> App:
    """Import `target` and find its app; TargetError when that fails."""
    if not target.attributes:
        # A Django settings module may read django.conf.settings as it loads
        # (Label Studio's starts Sentry, which reads SENTRY_DSN there): name
        # it before importing it, as manage.py does.
        os.environ["DJANGO_SETTINGS_MODULE"] = target.module
    module = _import(target.module)
    if not target.attributes:
        if hasattr(module, "ROOT_URLCONF"):
            return App("django", module)
        raise TargetError(
            f"{target.module} is not a Django settings module (no ROOT_URLCONF); "
            "name the app: MODULE:APP"
        )
    found: Any = module
    for depth, name in enumerate(target.attributes):
        try:
            found = getattr(found, name)
        except AttributeError:
            where = ".".join((target.module, *target.attributes[:depth]))
            raise TargetError(f"{where} has no attribute {name!r}") from None
    if target.args is not None:
        if not callable(found):
            raise TargetError(f"{_name(target)} is not callable")
        try:
            found = found(*target.args, **target.kwargs)
        except Exception as error:  # the user's factory: any failure is reported
            raise TargetError(
                f"{_name(target)}() failed: {type(error).__name__}: {error}"
            ) from error
    return identify(found, _name(target))


def identify(obj: Any, name: str = "the app") -> App:
    """The framework app inside `obj`, following middleware's ``.app``."""
    dispatchers: list[Any] = []
    seen: set[int] = set()
    kind = type(obj).__qualname__
    while obj is not None and id(obj) not in seen:
        seen.add(id(obj))
        if _is(obj, "starlette.routing", "Router") or _is(
            obj, "starlette.applications", "Starlette"
        ):
            return App("starlette", obj)
        if _is(obj, "flask.app", "Flask"):
            return App("flask", obj, tuple(dispatchers))
        if _is(obj, "django.core.handlers.base", "BaseHandler"):
            return App("django", obj)
        if isinstance(obj, ModuleType) and hasattr(obj, "ROOT_URLCONF"):
            return App("django", obj)
        if _is(obj, "werkzeug.middleware.dispatcher", "DispatcherMiddleware"):
            dispatchers.append(obj)
        obj = getattr(obj, "app", None)
    raise TargetError(
        f"{name} is not a FastAPI, Starlette, Flask or Django app "
        f"(nor middleware around one): it is a {kind}"
    )


def _is(obj: Any, module: str, name: str) -> bool:
    """isinstance by name, importing nothing: a framework not loaded has no instances."""
    loaded = sys.modules.get(module)
    cls = getattr(loaded, name, None)
    return isinstance(cls, type) and isinstance(obj, cls)


def _import(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name is not None and (name == error.name or name.startswith(error.name + ".")):
            raise TargetError(
                f"cannot import {name!r}: {error} (run from the directory that holds it, "
                "or pass --app-dir)"
            ) from None
        raise TargetError(f"importing {name!r} failed: {error}") from error
    except Exception as error:  # the user's module: any failure is reported
        raise TargetError(f"importing {name!r} failed: {type(error).__name__}: {error}") from error


def _name(target: Target) -> str:
    return f"{target.module}:{'.'.join(target.attributes)}"
