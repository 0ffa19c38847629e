"""Where a handler is written: its qualified name, file and first line.

A function knows its first line (``__code__.co_firstlineno``); a class
does not before Python 3.13 (``__firstlineno__``), and
``inspect.getsourcelines`` finds it by parsing the class's whole file,
again for every class: on NetBox's 2,094 class-based routes that was
2,090 parses of large views files, minutes of a run. `_class_lines`
parses each file once, and finds every class in it the way inspect does.
"""

from __future__ import annotations

import ast
import functools
import inspect
import linecache
import os
from typing import Any

from ._model import Definition


def definition_of(handler: Any, name: str | None = None) -> Definition:
    """The definition of `handler` (a function, a class, or an app object, by its class)."""
    target = _source_object(handler)
    qualname = getattr(target, "__qualname__", None) or type(target).__qualname__
    owner = _bound_to(handler)
    if owner is not None and inspect.isfunction(target):
        # One method bound to each view of a class hierarchy (Flask-AppBuilder registers
        # every API's self.info): the view's class tells the routes apart, its method's
        # class (ModelRestApi.info on every side) does not. Its file and line stay the method's.
        qualname = f"{type(owner).__qualname__}.{target.__name__}"
    try:
        file = inspect.getsourcefile(target)
    except TypeError:  # a builtin, or an object from no file
        file = None
    line: int | None = None
    code = getattr(target, "__code__", None)
    if code is not None:
        line = code.co_firstlineno
    elif file is not None and inspect.isclass(target):
        line = getattr(target, "__firstlineno__", None) or _class_line(file, target.__qualname__)
    return Definition(handler=qualname, file=_relative(file), line=line, name=name)


def _class_line(file: str, qualname: str) -> int | None:
    """The first line of the class `qualname` in `file`; None when the source is gone."""
    try:
        mtime = os.stat(file).st_mtime_ns
    except OSError:
        return None
    return _class_lines(file, mtime).get(qualname)


@functools.lru_cache(maxsize=256)
def _class_lines(file: str, mtime: int) -> dict[str, int]:
    """Every class in `file` by qualified name, at its first line (its first decorator's),
    as ``inspect.findsource`` finds one: the first of that name in the tree's order."""
    linecache.checkcache(file)
    try:
        tree = ast.parse("".join(linecache.getlines(file)))
    except (SyntaxError, ValueError):  # not Python after all (or a NUL byte)
        return {}
    lines: dict[str, int] = {}

    def visit(node: ast.AST, scope: tuple[str, ...]) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                name = (*scope, child.name)
                first = child.decorator_list[0].lineno if child.decorator_list else child.lineno
                lines.setdefault(".".join(name), first)
                visit(child, name)
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                visit(child, (*scope, child.name, "<locals>"))
            else:
                visit(child, scope)

    visit(tree, ())
    return lines


def _bound_to(handler: Any) -> Any:
    """The object a handler is a bound method of, through its partials and wrappers; None
    for a function, a class, or a method bound to a class (a classmethod)."""
    target = handler
    for _ in range(16):
        if isinstance(target, functools.partial):
            target = target.func
        elif inspect.ismethod(target):
            return None if inspect.isclass(target.__self__) else target.__self__
        elif hasattr(target, "__wrapped__"):
            target = target.__wrapped__
        else:
            return None
    return None


def _source_object(handler: Any) -> Any:
    """The function or class behind a decorated, partial or bound handler.

    A class-based view is its class: ``View.as_view()`` (Flask's, so Flask-RESTX's
    and flask-smorest's resources; Django's) makes a function that keeps the class
    as ``view_class``, and every such function is one line of the framework's.
    """
    target = handler
    for _ in range(16):  # wrappers of wrappers, but never a cycle
        view_class = getattr(target, "view_class", None)
        if inspect.isclass(view_class):
            return view_class
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
