"""Where a handler is written: its qualified name, file and first line."""

from __future__ import annotations

import functools
import inspect
import os
from typing import Any

from ._model import Definition


def definition_of(handler: Any, name: str | None = None) -> Definition:
    """The definition of `handler` (a function, a class, or an app object, by its class)."""
    target = _source_object(handler)
    qualname = getattr(target, "__qualname__", None) or type(target).__qualname__
    try:
        file = inspect.getsourcefile(target)
    except TypeError:  # a builtin, or an object from no file
        file = None
    line: int | None = None
    code = getattr(target, "__code__", None)
    if code is not None:
        line = code.co_firstlineno
    elif file is not None and inspect.isclass(target):
        try:
            line = inspect.getsourcelines(target)[1]
        except (OSError, TypeError):  # the source is gone; the file is still worth naming
            line = None
    return Definition(handler=qualname, file=_relative(file), line=line, name=name)


def _source_object(handler: Any) -> Any:
    """The function or class behind a decorated, partial or bound handler."""
    target = handler
    for _ in range(16):  # wrappers of wrappers, but never a cycle
        if isinstance(target, functools.partial):
            target = target.func
        elif inspect.ismethod(target):
            target = target.__func__
        elif hasattr(target, "__wrapped__"):
            target = target.__wrapped__
        else:
            break
    if inspect.isfunction(target) or inspect.isclass(target):
        return target
    return type(target)


def _relative(file: str | None) -> str | None:
    """`file` relative to the current directory when it is below it."""
    if file is None:
        return None
    try:
        relative = os.path.relpath(file)
    except ValueError:  # another drive
        return file
    return file if relative.startswith("..") else relative
