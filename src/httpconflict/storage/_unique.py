"""Unique fields of a collection: what a declaration may say, and how its indexes are named.

A collection's declaration is a list of keys, each a top-level field name
(``"email"``) or several (``["tenant", "slug"]``, unique together). Every
key is enforced by a real UNIQUE partial expression index on the documents
table, so the database decides a race between two writers; there is never
a SELECT before the write. A document missing a key's field, or holding
null there, has a NULL in the index and conflicts with nothing; so does a
tombstone, whose body is NULL.

An index's name is a hash of the collection and the key, so the same
declaration always names the same index (declaring twice changes nothing)
and a name, once seen, always means the same fields: a cache of name ->
fields can miss an entry another process declared, but never hold a wrong
one. The names fit PostgreSQL's 63-byte identifiers whatever the names of
collection and fields.

A unique field holds only values both stores compare alike
(`httpconflict._unique_values`): a declaration adding a key over stored
documents holding any other value there is refused (422), naming them
(`unsupported_stored_value`). Keys already declared are not checked again,
so a collection declared before the rule keeps its settings.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Final

from .._errors import InvalidDocument
from .._integrity import ViolationKind, classify
from .._integrity_policy import ConstraintViolated
from .._unique_values import MAX_EXACT_INTEGER, UniqueValueUnsupported, unsupported_unique_value

#: A unique key: the names of the fields whose values are unique together.
UniqueKey = tuple[str, ...]

# Field names go into index DDL as literals (a DDL statement takes no bound
# parameters), so they are held to a grammar with no quote in it.
FIELD_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}")
MAX_KEYS: Final = 16
MAX_FIELDS: Final = 8
INDEX_PREFIX: Final = "documents_unique_"
# Part of every name's hash: indexes built another way must get new names.
_SCHEME: Final = "1"
#: The most documents a refused declaration names.
MOST_NAMED: Final = 10


def parse_unique_keys(value: object) -> tuple[UniqueKey, ...]:
    """The keys of a declaration's JSON value (``["email", ["tenant", "slug"]]``).

    Raises `InvalidDocument` (422) naming what is wrong: not a list, a name
    outside the grammar, too many keys or fields, the same key twice.
    """
    if not isinstance(value, list):
        raise InvalidDocument('"unique" must be a list of field names or lists of them')
    if len(value) > MAX_KEYS:
        raise InvalidDocument(f"at most {MAX_KEYS} unique keys per collection")
    keys: list[UniqueKey] = []
    for entry in value:
        key = _key(entry)
        if any(set(key) == set(seen) for seen in keys):
            raise InvalidDocument(f"the unique key {_show(key)} is declared twice")
        keys.append(key)
    return tuple(keys)


def _key(entry: object) -> UniqueKey:
    names = [entry] if isinstance(entry, str) else entry
    if not isinstance(names, list) or not 1 <= len(names) <= MAX_FIELDS:
        raise InvalidDocument(
            f"a unique key is a field name or a list of 1 to {MAX_FIELDS} field names"
        )
    for name in names:
        if not isinstance(name, str) or FIELD_NAME.fullmatch(name) is None:
            raise InvalidDocument(
                f"{json.dumps(name)} is not a field name: use up to 64 letters, digits, "
                "_ and -, starting with a letter or _"
            )
    if len(set(names)) != len(names):
        raise InvalidDocument(f"the unique key {json.dumps(names)} names a field twice")
    return tuple(names)


def format_unique_keys(keys: Iterable[UniqueKey]) -> list[str | list[str]]:
    """A declaration as JSON: a key of one field is its name, others are lists."""
    return [key[0] if len(key) == 1 else list(key) for key in keys]


def _show(key: UniqueKey) -> str:
    return json.dumps(format_unique_keys([key])[0])


def index_name(collection: str, key: UniqueKey) -> str:
    """The name of the index enforcing `key` in `collection`."""
    digest = hashlib.sha256(json.dumps([_SCHEME, collection, *key]).encode()).hexdigest()
    return INDEX_PREFIX + digest[:24]


def unique_violation(
    error: BaseException, indexes: Mapping[str, UniqueKey]
) -> ConstraintViolated | None:
    """The 409 for a write one of `indexes` refused; None for any other error.

    The problem names the declared fields and the index, never the value:
    that is another document's data.
    """
    violation = classify(error)
    if violation is None or violation.kind is not ViolationKind.UNIQUE:
        return None
    key = indexes.get(violation.constraint or "")
    if key is None:
        return None
    return ConstraintViolated(violation.with_details(columns=key, table=None))


def unsupported_stored_value(
    rows: Iterable[tuple[str, str | bytes]], keys: Sequence[UniqueKey]
) -> UniqueValueUnsupported | None:
    """The 422 for a declaration of `keys` over stored documents (id, body) holding a value of
    one of their fields that stores compare differently; None when none does.

    The problem names the first key found and up to `MOST_NAMED` documents
    holding such a value in it. Numbers are read as written (Decimals), so a
    document stored before the JSON domain is judged by its text.
    """
    found = None
    named: list[str] = []
    for id, body in rows:
        document = json.loads(body, parse_float=Decimal, parse_int=_stored_int)
        if not isinstance(document, dict):
            continue
        one = unsupported_unique_value(document, keys if found is None else [found.key])
        if one is None:
            continue
        found = found or one
        named.append(id)
        if len(named) == MOST_NAMED:
            break
    return None if found is None else UniqueValueUnsupported(found, documents=named)


def _stored_int(text: str) -> int:
    # int() refuses more than 4300 digits; any integer of 20 characters or
    # more is beyond 2^53 (16 digits) anyway.
    return int(text) if len(text) < 20 else MAX_EXACT_INTEGER + 1
