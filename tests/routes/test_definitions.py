"""Where a handler is written: class views by file and first line, each file parsed once."""

from __future__ import annotations

import ast
import importlib.util
import inspect
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from httpconflict.tools.routes._definitions import definition_of

#: Class views as a large app writes them (a DRF project has hundreds in
#: one views.py): plain, decorated, nested, defined in a function.
VIEWS = """
def register(cls):
    return cls


class Plain:
    pass


@register
@register
class Decorated:
    class Inner:
        pass


def factory():
    class Local:
        pass

    return Local


Made = factory()
"""


@pytest.fixture
def views(tmp_path: Path) -> Iterator[ModuleType]:
    """A module of class views, 200 of them besides the shapes above, imported from a file."""
    many = "".join(f"\n\nclass View{n}:\n    pass\n" for n in range(200))
    file = tmp_path / "realapp_views.py"
    file.write_text(VIEWS + many, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("realapp_views", file)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


def _classes(module: ModuleType) -> list[Any]:
    return [
        module.Plain,
        module.Decorated,
        module.Decorated.Inner,
        module.Made,
        *(getattr(module, f"View{n}") for n in range(200)),
    ]


def test_class_lines_are_inspects(views: ModuleType) -> None:
    """Each class view is placed where inspect places it: its first line, decorators included."""
    for cls in _classes(views):
        definition = definition_of(cls)
        assert definition.handler == cls.__qualname__
        assert definition.line == inspect.getsourcelines(cls)[1], cls.__qualname__
        assert definition.file is not None
        assert definition.file.endswith("realapp_views.py")


def test_a_views_file_is_parsed_once(views: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    """204 class views of one file: the file is parsed once, not once per class (inspect
    parses the whole file for each class: 2,090 parses and minutes on NetBox's 2,094 routes)."""
    parsed: Counter[str] = Counter()
    real_parse = ast.parse

    def counting_parse(source: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(source, str) and "class View199:" in source:
            parsed["views"] += 1
        return real_parse(source, *args, **kwargs)

    monkeypatch.setattr(ast, "parse", counting_parse)
    lines = [definition_of(cls).line for cls in _classes(views)]
    assert None not in lines
    assert parsed["views"] <= 1
