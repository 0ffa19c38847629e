"""What each framework's converters can match, one table per framework.

The regex always comes from the converter object itself (a Flask
``<string(length=2):c>`` is ``[^/]{2}``, a Starlette ``uuid`` takes
upper case and missing dashes, Django's does not), so testing a literal
segment is the framework's own test. The tables add what a regex cannot
say cheaply: the converter's *shape* (one segment, or a path), whether it
is *total* (``str`` takes every segment, ``path`` every path) and whether
it is *known* (every value non-empty and, for a segment, slash-free).

=========  =============================  ==========================  ======================
converter  Starlette                      Werkzeug (Flask)            Django
=========  =============================  ==========================  ======================
str        ``[^/]+``, total               ``[^/]{1,}``, total         ``[^/]+``, total
int        ``[0-9]+``                     ``\\d+`` (signed: ``-?``)   ``[0-9]+``
float      ``[0-9]+(\\.[0-9]+)?``         ``\\d+\\.\\d+``             (none)
uuid       hex, dashes optional           hex, either case            lower-case hex
slug       (none)                         (none)                      ``[-a-zA-Z0-9_]+``
any        (none)                         ``(?:a|b)``                 (none)
path       ``.*``, total                  ``[^/].*?``, total          ``.+``, total
=========  =============================  ==========================  ======================

A converter in no table (one an app registered itself) is not known: it
is compared by identity and tested against literal text, nothing more.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Final

from ._model import Converter, Shape

# Class names, by framework, of the converters whose values are one
# non-empty, slash-free segment; the path converters; and the total ones.
_SEGMENTS: Final = {
    "starlette": {"StringConvertor", "IntegerConvertor", "FloatConvertor", "UUIDConvertor"},
    "werkzeug": {
        "UnicodeConverter",
        "IntegerConverter",
        "FloatConverter",
        "UUIDConverter",
        "AnyConverter",
    },
    "django": {"StringConverter", "IntConverter", "UUIDConverter", "SlugConverter"},
}
_PATHS: Final = {
    "starlette": {"PathConvertor"},
    "werkzeug": {"PathConverter"},
    "django": {"PathConverter"},
}
# Total only with the framework's default regex: ``<string(maxlength=8):s>`` is not.
_TOTAL: Final = {
    ("starlette", "StringConvertor"): "[^/]+",
    ("starlette", "PathConvertor"): ".*",
    ("werkzeug", "UnicodeConverter"): "[^/]{1,}",
    ("werkzeug", "PathConverter"): "[^/].*?",
    ("django", "StringConverter"): "[^/]+",
    ("django", "PathConverter"): ".+",
}
_FRAMEWORK_MODULES: Final = {
    "starlette": "starlette.",
    "werkzeug": "werkzeug.",
    "django": "django.",
}


def converter(
    framework: str, name: str, instance: Any, check: Callable[[str], bool] | None = None
) -> Converter:
    """The model of one converter `instance` of `framework`, spelled `name` in the pattern."""
    cls = type(instance)
    regex: str = instance.regex
    own = cls.__module__.startswith(_FRAMEWORK_MODULES[framework])
    if own and cls.__name__ in _SEGMENTS[framework]:
        shape, known = Shape.SEGMENT, re.fullmatch(regex, "") is None
    elif own and cls.__name__ in _PATHS[framework]:
        shape, known = Shape.PATH, True
    else:
        shape, known = _guess_shape(regex), False
    total = own and _TOTAL.get((framework, cls.__name__)) == regex
    return Converter(
        name=name,
        identity=f"{cls.__module__}.{cls.__qualname__}:{regex}",
        regex=regex,
        shape=shape,
        total=total,
        known=known,
        check=check,
    )


def _guess_shape(regex: str) -> Shape:
    """An unknown converter is a path converter when it can take a slash."""
    if "/" in regex or any(re.fullmatch(regex, text) for text in ("x/y", "1/2", "-/-")):
        return Shape.PATH
    return Shape.SEGMENT


def accepted_by(
    to_python: Callable[[str], object], *errors: type[Exception]
) -> Callable[[str], bool]:
    """A check from a converter's conversion: False when it raises one of `errors`."""

    def check(text: str) -> bool:
        try:
            to_python(text)
        except errors:
            return False
        return True

    return check
