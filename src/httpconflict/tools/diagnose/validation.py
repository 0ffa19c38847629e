"""What an input no entry matched is, when it is an integrity error that is not a conflict.

A NOT NULL column left empty, a CHECK constraint broken, or a row naming
a parent that does not exist is refused whatever else is stored: the
request itself is wrong, a validation error (422), not a clash with the
current state, so no entry answers it (an integrity error that is a
conflict, such as a unique key's or a parent row still referenced, has
its entries). "Not recognised" alone left the user with nothing: this
says which it is, naming the column or constraint, and what to do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class _Kind:
    what: str
    fix: str
    patterns: tuple[re.Pattern[str], ...]


_KINDS: Final = (
    _Kind(
        "a NOT NULL violation{named}: the row was written without a value the column requires",
        "send the value (a form field left out, a model attribute never set, a serializer "
        "that drops it), or give the column a default; answer it as a 422 naming the field",
        tuple(
            re.compile(pattern)
            for pattern in (
                r'null value in column \\?"(?P<name>[^"\\]+)\\?"[^\n]{0,80}violates not-null',
                r"NOT NULL constraint failed: (?P<name>[\w.]+)",
                r"Column '(?P<name>[^']+)' cannot be null",
                r"Cannot insert the value NULL into column '(?P<name>[^']+)'",
                r"ORA-01400: cannot insert NULL into \((?P<name>[^)]+)\)",
            )
        ),
    ),
    _Kind(
        "a CHECK constraint violation{named}: the row's values break a rule the table states",
        "validate the values before writing them (the constraint's definition, `\\d table` "
        "in psql or `SHOW CREATE TABLE`, says the rule), and answer a 422 naming the field",
        tuple(
            re.compile(pattern)
            for pattern in (
                r'violates check constraint \\?"(?P<name>[^"\\]+)',
                r"CHECK constraint failed: (?P<name>\w+)",
                r"Check constraint '(?P<name>[^']+)' is violated",
                r'conflicted with the CHECK constraint \\?"(?P<name>[^"\\]+)',
                r"ORA-02290: check constraint \((?P<name>[^)]+)\) violated",
            )
        ),
    ),
    _Kind(
        "a foreign key violation on a write{named}: the row names a parent row that does not exist",
        "check that the referenced row exists (an id from another environment, a parent "
        "deleted meanwhile, rows inserted children first), and answer a 422 naming the field; "
        "insert the parent first in the same transaction",
        tuple(
            re.compile(pattern)
            for pattern in (
                r'(?s)violates foreign key constraint \\?"(?P<name>[^"\\]+)\\?".{0,200}?'
                r"is not present in table",
                r"Cannot add or update a child row: a foreign key constraint fails"
                r"(?: \([^,]*, CONSTRAINT `(?P<name>[^`]+)`)?",
                r'(?:INSERT|UPDATE) statement conflicted with the FOREIGN KEY constraint \\?"'
                r'(?P<name>[^"\\]+)',
                r"ORA-02291: integrity constraint \((?P<name>[^)]+)\) violated - parent key not",
            )
        ),
    ),
)


def not_a_conflict(text: str) -> str | None:
    """The sentence saying which integrity error `text` holds that is not a conflict, if any."""
    for kind in _KINDS:
        for pattern in kind.patterns:
            found = pattern.search(text)
            if found is None:
                continue
            name = found.groupdict().get("name")
            named = f" ({name})" if name else ""
            return (
                f"It is {kind.what.format(named=named)}: a validation error (422), not a "
                f"conflict with the current state. To fix it, {kind.fix}."
            )
    return None
