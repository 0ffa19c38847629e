"""The JSON domain: which JSON values are accepted, the same for every way in.

Theory of operation: RFC 8259 §9 lets "an implementation ... set limits on
the size of texts that it accepts ... the maximum depth of nesting ... the
range and precision of numbers ... the length and character contents of
strings". This module sets them once, and every text the core parses
(`httpconflict.parse_json`: PUT and POST bodies, patches, stored
documents) and every value a patch produces (`check_json_domain`) is held
to the same ones, so PUT, POST and PATCH accept exactly the same documents:

- **depth**: at most `JsonLimits.max_depth` (128) nested arrays and objects.
  Checked before any other code walks the value, so no recursive function
  (``json.dumps``, `copy_json`, `json_equal`, diffs, merges) meets a value
  deep enough to exhaust the interpreter's recursion limit.
- **integers** (no fraction, no exponent): at most `max_digits` (4300)
  digits, held exactly. ``-0`` is read as the float ``-0.0``, so its sign
  survives a PATCH that rewrites the document (it is written ``-0.0``).
- **other numbers**: read as IEEE 754 doubles (binary64), so each must come
  back from a double as the number written: written back as the shortest
  text of its double, it denotes the same decimal number (``0.1``, ``1e300``,
  ``5e-324`` and ``2.50`` do; ``1e400`` becomes infinite, ``1e-400`` zero,
  ``0.10000000000000000001`` another number: refused). At most `max_digits`
  digits before the exponent, and an exponent of at most four digits.
- **strings** (and member names): Unicode scalar values only (RFC 8259 §8.2:
  a lone surrogate's meaning is "unpredictable"; it cannot be written as
  UTF-8), and no U+0000: PostgreSQL's text and jsonb cannot hold it, and
  SQLite's JSON functions read a string only up to it, so a unique key
  would find ``"a\\u0000b"`` equal to ``"a"``.

The size of a document is the body limit's business (413), applied by the
service to the text received and to what a patch builds.

A refusal is `JsonLimitExceeded` (422 ``json-limit``), naming the limit
(``limit``), its value (``max``) where it has one, and where the value is
(``pointer``) when it is known; a number is named by its text (``number``).

Parsing checks cheaply first: numbers as the parser meets them (a hook per
number), and depth and strings only when the text could break them (more
brackets than the depth limit; a ``\\u`` escape of U+0000 or a surrogate, as
a raw one is no UTF-8 or no JSON), so a plain document costs one scan.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from ._errors import JsonLimitExceeded
from ._json_value import Json

MAX_DEPTH: Final = 128
MAX_DIGITS: Final = 4300
# Four digits of exponent keep every accepted number readable by
# PostgreSQL's numeric (at most 16383 digits after the point), which a
# unique key's jsonb index reads; a double needs three.
MAX_EXPONENT: Final = 9999

# What the `limit` member of a refusal says.
DEPTH: Final = "depth"
NUMBER_DIGITS: Final = "number-digits"
NUMBER_EXPONENT: Final = "number-exponent"
NUMBER_RANGE: Final = "number-range"
NUMBER_PRECISION: Final = "number-precision"
LONE_SURROGATE: Final = "lone-surrogate"
NUL: Final = "nul-character"

# A JSON number's grammar (RFC 8259 §6): the parser hands over only texts of it.
_NUMBER: Final = re.compile(r"-?(\d+)(?:\.(\d+))?(?:[eE]([-+]?\d+))?")
_SURROGATE: Final = re.compile("[\ud800-\udfff]")
# In a JSON text, U+0000 and surrogates can only be written as escapes: a
# raw U+0000 in a string is not JSON, a raw surrogate is not UTF-8.
_RISKY_ESCAPE: Final = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")
_SHOWN: Final = 40
# Type checks C code can run over a list (isinstance, with the type bound).
_IS_STRING: Final = str.__instancecheck__
_IS_OBJECT: Final = dict.__instancecheck__
_IS_ARRAY: Final = list.__instancecheck__
_IS_FLOAT: Final = float.__instancecheck__
_IS_INTEGER: Final = int.__instancecheck__


@dataclass(frozen=True, slots=True)
class JsonLimits:
    """The limits of the JSON domain (see the module's docstring)."""

    #: Nested arrays and objects: ``{}`` is 1 deep, ``{"a": []}`` 2.
    max_depth: int = MAX_DEPTH
    #: Digits of a number before its exponent (an integer's digits).
    max_digits: int = MAX_DIGITS

    def __post_init__(self) -> None:
        if self.max_depth < 1 or self.max_digits < 1:
            raise ValueError("JSON limits must be positive")


DEFAULT_LIMITS: Final = JsonLimits()


def check_json_domain(value: Json, limits: JsonLimits = DEFAULT_LIMITS) -> None:
    """Raise `JsonLimitExceeded` (422) unless `value` is in the JSON domain.

    For a value built in Python, such as the result of a patch: depth,
    strings and member names, and numbers (finite floats, integers of at
    most `max_digits` digits). Iterative, so any depth is refused, not
    recursed into.
    """
    if _breaks(value, limits, strings=True, numbers=True):
        _walk(value, limits, strings=True, numbers=True)  # raises, naming where


def check_parsed(text: str, value: Json, limits: JsonLimits) -> None:
    """The checks a freshly parsed `text` still needs: depth and strings, when it could break them.

    Its numbers were checked by `number_hooks` as they were read.
    """
    strings = _RISKY_ESCAPE.search(text) is not None
    deep = text.count("[") + text.count("{") > limits.max_depth
    if (strings or deep) and _breaks(value, limits, strings=strings, numbers=False):
        _walk(value, limits, strings=strings, numbers=False)  # raises, naming where


def _breaks(value: Json, limits: JsonLimits, *, strings: bool, numbers: bool) -> bool:
    """Whether `value` may be outside the domain: too deep, or its strings or numbers.

    One level of the tree at a time, the level's members gathered, sorted
    and their strings joined by C code (`filter` with a type's instance
    check), so Python code runs per container, not per value: several
    times faster than `_walk`, which only then runs, to say where. It may
    err towards yes (a sum of large doubles overflowing), never towards no.
    """
    level: list[Any] = [value]
    if not isinstance(value, dict | list):
        return _members_break(level, limits, strings=strings, numbers=numbers)
    depth = 1
    while level:
        if depth > limits.max_depth:
            return True
        members: list[Any] = []
        for container in level:
            if isinstance(container, dict):
                if strings:
                    members += container  # its names
                members += container.values()
            else:
                members += container
        if _members_break(members, limits, strings=strings, numbers=numbers):
            return True
        level = [*filter(_IS_OBJECT, members), *filter(_IS_ARRAY, members)]
        depth += 1
    return False


def _members_break(members: list[Any], limits: JsonLimits, *, strings: bool, numbers: bool) -> bool:
    if strings and not _clean("".join(filter(_IS_STRING, members))):
        return True
    if numbers:
        # Infinity and NaN make the sum so; large doubles may too (then `_walk` finds nothing).
        if not math.isfinite(sum(filter(_IS_FLOAT, members))):
            return True
        integers = list(filter(_IS_INTEGER, members))
        if integers and max(map(abs, integers)) >= _digits_bound(limits.max_digits):
            return True
    return False


def _clean(text: str) -> bool:
    if "\x00" in text:
        return False
    if text.isascii():
        return True
    try:
        text.encode()  # a lone surrogate has no UTF-8 form
    except UnicodeEncodeError:
        return False
    return True


def nested_too_deeply(limits: JsonLimits) -> JsonLimitExceeded:
    """The refusal of a text nested deeper than the parser itself goes."""
    return _too_deep(limits, None)


@functools.cache
def number_hooks(limits: JsonLimits) -> tuple[Callable[[str], Any], Callable[[str], float]]:
    """``parse_int`` and ``parse_float`` for `json.JSONDecoder`; numbers out of the domain raise.

    They run once per number, so the common case returns at once (plain
    closures: a `functools.partial` costs a tenth more per call).
    """
    short = min(limits.max_digits, 18)

    def read_integer(text: str, _int: Callable[[str], int] = int) -> int | float:
        if len(text) <= short and text != "-0":
            return _int(text)
        return _read_integer(limits, text)

    def read_float(text: str, _float: Callable[[str], float] = float) -> float:
        if len(text) <= 16 and "e" not in text and "E" not in text:
            # At most 15 digits and no exponent: a double tells all such
            # decimal numbers apart (DBL_DIG), so it gives back the one written.
            return _float(text)
        value = _float(text)
        if repr(value) == text:
            return value  # the text is the double's own: nothing to lose
        return _read_float(limits, text, value)

    return read_integer, read_float


def _read_integer(limits: JsonLimits, text: str) -> int | float:
    # Counted before int() runs: converting a long digit string is quadratic.
    if len(text) - text.startswith("-") > limits.max_digits:
        raise _number_refusal(
            text, NUMBER_DIGITS, f"has more than {limits.max_digits} digits", limits.max_digits
        )
    if text == "-0":
        # int("-0") is 0: the sign would be lost; the float keeps it.
        return -0.0
    return int(text)


def _read_float(limits: JsonLimits, text: str, value: float) -> float:
    """`value` (the double `text` reads as) if it gives back the number written, else raise."""
    match = _NUMBER.fullmatch(text)
    assert match is not None, "the parser hands over JSON numbers only"
    whole, fraction, exponent = match.groups()
    if len(whole) + len(fraction or "") > limits.max_digits:
        raise _number_refusal(
            text, NUMBER_DIGITS, f"has more than {limits.max_digits} digits", limits.max_digits
        )
    if exponent is not None and len(exponent.lstrip("+-")) > len(str(MAX_EXPONENT)):
        raise _number_refusal(
            text, NUMBER_EXPONENT, f"has an exponent beyond ±{MAX_EXPONENT}", MAX_EXPONENT
        )
    if math.isinf(value):
        raise _number_refusal(
            text, NUMBER_RANGE, "is too large for a double (it would be infinite)"
        )
    if value == 0.0 and (whole + (fraction or "")).strip("0"):
        raise _number_refusal(text, NUMBER_RANGE, "is too small for a double (it would be zero)")
    if Decimal(text) != Decimal(repr(value)):
        raise _number_refusal(
            text,
            NUMBER_PRECISION,
            f"has more precision than a double holds (it would be {value!r})",
        )
    return value


def _number_refusal(
    text: str, limit: str, why: str, maximum: int | None = None
) -> JsonLimitExceeded:
    shown = text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."
    return JsonLimitExceeded(
        f"the number {shown} {why}; send it as a string to keep it exactly",
        limit=limit,
        maximum=maximum,
        number=shown,
    )


# A link in the path from the root to a container: (parent's link, key).
_Link = tuple[Any, str | int] | None


def _walk(value: Json, limits: JsonLimits, *, strings: bool, numbers: bool) -> None:
    if not isinstance(value, dict | list):
        _check_scalar(value, limits, None, strings=strings, numbers=numbers)
        return
    stack: list[tuple[Json, int, _Link]] = [(value, 1, None)]
    while stack:
        container, depth, link = stack.pop()
        if depth > limits.max_depth:
            raise _too_deep(limits, link)
        if isinstance(container, dict):
            for name, member in container.items():
                if strings:
                    _check_string(name, (link, name), member_name=True)
                if isinstance(member, dict | list):
                    stack.append((member, depth + 1, (link, name)))
                elif strings or numbers:
                    _check_scalar(member, limits, (link, name), strings=strings, numbers=numbers)
        else:
            for index, element in enumerate(container):
                if isinstance(element, dict | list):
                    stack.append((element, depth + 1, (link, index)))
                elif strings or numbers:
                    _check_scalar(element, limits, (link, index), strings=strings, numbers=numbers)


def _check_scalar(
    value: Json, limits: JsonLimits, link: _Link, *, strings: bool, numbers: bool
) -> None:
    if isinstance(value, str):
        if strings:
            _check_string(value, link, member_name=False)
    elif isinstance(value, bool) or value is None:
        pass
    elif isinstance(value, float):
        if numbers and not math.isfinite(value):
            raise JsonLimitExceeded(
                f"{_where(link)} holds {value!r}, which is not a JSON number (RFC 8259 §6)",
                limit=NUMBER_RANGE,
                pointer=_pointer(link),
            )
    elif isinstance(value, int):
        if numbers and abs(value) >= _digits_bound(limits.max_digits):
            raise JsonLimitExceeded(
                f"{_where(link)} holds an integer of more than {limits.max_digits} digits",
                limit=NUMBER_DIGITS,
                maximum=limits.max_digits,
                pointer=_pointer(link),
            )
    else:
        raise TypeError(f"not a JSON value: {type(value).__name__}")


def _check_string(text: str, link: _Link, *, member_name: bool) -> None:
    if text.isascii():
        if "\x00" not in text:
            return
    elif "\x00" not in text and _SURROGATE.search(text) is None:
        return
    what = "the member name at" if member_name else "the string at"
    if "\x00" in text:
        raise JsonLimitExceeded(
            f"{what} {_where(link)} holds U+0000, which this service does "
            "not store (PostgreSQL cannot hold it, SQLite's JSON functions stop at it)",
            limit=NUL,
            pointer=_pointer(link),
        )
    raise JsonLimitExceeded(
        f"{what} {_where(link)} holds a lone surrogate (such as \\ud800 "
        "without its pair), which is no Unicode character (RFC 8259 §8.2)",
        limit=LONE_SURROGATE,
        pointer=_pointer(link),
    )


def _too_deep(limits: JsonLimits, link: _Link) -> JsonLimitExceeded:
    # The pointer is in the `pointer` member only: it is as long as the limit.
    return JsonLimitExceeded(
        f"the JSON value is nested more than {limits.max_depth} arrays and objects deep",
        limit=DEPTH,
        maximum=limits.max_depth,
        pointer=None if link is None else _pointer(link),
    )


def _pointer(link: _Link) -> str:
    """The JSON pointer (RFC 6901) a chain of links names."""
    tokens: list[str] = []
    while link is not None:
        link, key = link
        tokens.append(str(key).replace("~", "~0").replace("/", "~1"))
    return "".join("/" + token for token in reversed(tokens))


def _where(link: _Link) -> str:
    pointer = _pointer(link)
    return repr(pointer) if pointer else "the top level"


@functools.cache
def _digits_bound(digits: int) -> int:
    bound: int = 10**digits
    return bound
