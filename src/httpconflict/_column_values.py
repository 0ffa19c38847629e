"""Whether a patched row's values fit its columns: a JSON object or array in a scalar one is not.

A patch may set a member of a row's document to any JSON value, but a
text, number, boolean or date column holds none of an object or an array:
written there, the driver refuses the value ("type 'dict' is not
supported" on SQLite) or stores its repr. The adapters know each column's
type (SQLAlchemy's ``column.type.python_type``, Django's
``get_internal_type()``) and say which columns hold scalars only; the
refusal, a 422 naming the members, is decided here, before the write.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Final

from ._errors import InvalidDocument

_SHOWN: Final = 10


def check_scalar_columns(values: Mapping[str, object], scalar: Collection[str]) -> None:
    """Raise `InvalidDocument` (422) naming each of `values` that is a JSON object or array
    set to a column in `scalar` (one that holds text, a number, a boolean, a date...)."""
    misfits = sorted(
        name for name, value in values.items() if name in scalar and isinstance(value, dict | list)
    )
    if not misfits:
        return
    shown = ", ".join(
        f"{name!r} (a JSON {'object' if isinstance(values[name], dict) else 'array'})"
        for name in misfits[:_SHOWN]
    )
    more = f" and {len(misfits) - _SHOWN} more" if len(misfits) > _SHOWN else ""
    raise InvalidDocument(
        f"the patch sets {shown}{more}, but each is stored in a column of text, numbers or "
        "the like: set it to a string, number, boolean or null",
        members=misfits[:_SHOWN],
    )
