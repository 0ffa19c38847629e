"""`save_form`: a WTForms form written to its SQLAlchemy row only over the version it showed.

Theory of operation: the form's values go on the row as WTForms puts
them (``form.populate_obj(row)``), and every column attribute of the row
then changed (those and any the view set itself) is written by ONE
guarded statement, `versioned_update`'s

    UPDATE note SET title = :title, version = version + 1
    WHERE id = :id AND version = :opened

in the caller's transaction: the check and the write cannot be told
apart by another writer, whatever the isolation level. The row's changes
are taken out of the session before that (``set_committed_value``), so
no flush writes them unguarded, and the statement answers the row as
written (``RETURNING``, or read back under its lock on MariaDB).

When it matches nothing the form is refused, nothing written: the row is
read again past any snapshot (a locking read on MySQL and MariaDB), the
form's error names what is stored now where it differs from what was
sent (the core's words, `_stale_forms`), and the form's hidden version
moves to the stored one, so that saving again replaces what the user
was shown. A row deleted meanwhile: an error, nothing written.

A constraint the form does not check (a taken slug; two creates at once
both pass a SELECT) is the database's to decide: the write runs in a
SAVEPOINT, its integrity error rolls back that alone, and the core's
`classify` and `IntegrityPolicy` word it as the error of the form field
it names. On SQLite the transaction is begun first when the driver has
not (pysqlite begins one only before a write, and a SAVEPOINT outside a
transaction is one whose RELEASE commits).

The caller commits when `save_form` says it saved, and otherwise shows
the form again: nothing of the refused save is left to commit.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Constraint, Index, Table, inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import ColumnProperty, Mapper, Session, scoped_session
from sqlalchemy.orm.attributes import set_committed_value

from .._errors import NotFound, PreconditionFailed
from .._etag import EntityTags
from .._integrity import Violation, classify
from .._integrity_policy import DEFAULT_POLICY
from .._preconditions import Conditions
from .._stale_forms import (
    deleted_form_message,
    difference,
    stale_form_message,
    unversioned_form_message,
)
from ..sqlalchemy import version_etag, versioned_update
from ._form_fields import VersionField

__all__ = ["save_form"]


def save_form(session: Session | scoped_session[Session], form: Any, row: Any) -> bool:
    """Save `form` (validated) to `row`: True when written, False when refused with its errors.

    A row loaded from the database is updated only if it is still at the
    version the form was opened on (the form's `VersionField`), with that
    version plus one; a new row (``Note()``) is inserted. Refused (stale,
    deleted meanwhile, sent without its version, or a constraint the row
    would violate), the form holds the reason as an error (``form.form_errors``,
    or the field's) and the user's input, and nothing was written. Commit
    when it returns True. `session` may be Flask-SQLAlchemy's ``db.session``.
    """
    own = session() if isinstance(session, scoped_session) else session  # the request's Session
    return _save(own, form, row)


def _save(session: Session, form: Any, row: Any) -> bool:
    mapper: Mapper[Any] = inspect(type(row))
    form.populate_obj(row)
    state = inspect(row)
    if state.key is None:
        return _insert(session, form, row, mapper)
    name = getattr(form, "version_field", "version")
    field = form[name]
    if not isinstance(field, VersionField):
        raise TypeError(f"{type(form).__name__}.{name} is not a VersionField")
    changed = _changed_columns(row, mapper, name)
    key = state.key[1] if len(state.key[1]) > 1 else state.key[1][0]
    opened = field.data
    if opened is not None:
        conditions = Conditions(if_match=EntityTags((version_etag(opened),)))
        try:
            with _savepoint(session, mapper):
                versioned_update(
                    session, mapper.class_, key, changed, conditions, version_field=name
                )
        except PreconditionFailed:
            pass  # below: what is stored now
        except NotFound:
            form.form_errors.append(deleted_form_message(_noun(form, mapper)))
            return False
        except IntegrityError as error:
            return _refused(form, error, mapper)
        else:
            return True
    return _stale(session, form, row, mapper, key, opened)


def _insert(session: Session, form: Any, row: Any, mapper: Mapper[Any]) -> bool:
    try:
        with _savepoint(session, mapper):
            # Added in the SAVEPOINT (which flushes what was pending): its rollback drops it.
            session.add(row)
            session.flush()
    except IntegrityError as error:
        return _refused(form, error, mapper)
    return True


def _changed_columns(row: Any, mapper: Mapper[Any], version: str) -> dict[str, Any]:
    """The row's changed column attributes, taken out of the session (the guarded UPDATE's values).

    A changed relationship would be flushed unguarded: it is refused (assign its foreign key).
    """
    state = inspect(row)
    changed: dict[str, Any] = {}
    for attribute in state.attrs:
        if not attribute.history.has_changes():
            continue
        prop = mapper.get_property(attribute.key)
        if not isinstance(prop, ColumnProperty):
            raise TypeError(
                f"save_form writes a row's columns in one guarded UPDATE; {attribute.key!r} "
                "is a relationship: give the form its foreign key column instead"
            )
        if attribute.key != version:
            changed[attribute.key] = attribute.value
    for name, value in changed.items():
        set_committed_value(row, name, value)  # written by the guarded UPDATE, not a flush
    return changed


def _stale(
    session: Session, form: Any, row: Any, mapper: Mapper[Any], key: Any, opened: int | None
) -> bool:
    """Refuse the form with what is stored now; its version moves to the stored one."""
    noun = _noun(form, mapper)
    # Past any snapshot: InnoDB's REPEATABLE READ answers a plain SELECT from an older one.
    locking = session.get_bind(mapper).dialect.name in ("mysql", "mariadb")
    current = session.get(
        mapper.class_,
        key,
        populate_existing=True,
        with_for_update={"read": True} if locking else None,
    )
    if current is None:
        form.form_errors.append(deleted_form_message(noun))
        return False
    name = getattr(form, "version_field", "version")
    stored = getattr(current, name)
    form[name].move_to(stored)
    differences = _differences(form, current, mapper, name)
    if opened is None:
        form.form_errors.append(unversioned_form_message(noun, differences))
    else:
        form.form_errors.append(stale_form_message(noun, opened, stored, differences))
    return False


def _differences(form: Any, current: Any, mapper: Mapper[Any], version: str) -> list[str]:
    """``label “stored value”`` for each of the form's column fields sent otherwise."""
    found = []
    for field in form:
        prop = mapper.attrs.get(field.name)
        if field.name == version or not isinstance(prop, ColumnProperty):
            continue
        stored = getattr(current, field.name)
        if field.data != stored:
            found.append(difference(str(field.label.text), "" if stored is None else str(stored)))
    return found


def _refused(form: Any, error: IntegrityError, mapper: Mapper[Any]) -> bool:
    """The violation as the error of the form field it names (or the form's), or raise."""
    violation = classify(error)
    if violation is None:
        raise error
    violation = _with_columns(violation, mapper)
    names = [
        attr.key
        for attr in mapper.column_attrs
        if attr.key in form and any(c.name in violation.columns for c in attr.columns)
    ]
    if names:  # named as the form labels them
        labels = tuple(str(form[n].label.text) for n in names)
        violation = violation.with_details(columns=labels)
    detail = DEFAULT_POLICY.problem(violation).detail
    if len(names) == 1:
        form[names[0]].errors = [*form[names[0]].errors, detail]
    else:
        form.form_errors.append(detail)
    return False


def _with_columns(violation: Violation, mapper: Mapper[Any]) -> Violation:
    """The violation with its columns, when the database named only its constraint.

    MariaDB names a unique key, not its columns; the model's table knows
    them (an unnamed one is named after its first column).
    """
    if violation.columns or violation.constraint is None:
        return violation
    for table in mapper.tables:
        if not isinstance(table, Table):
            continue
        keys: list[Index | Constraint] = [*table.indexes, *table.constraints]
        for index in keys:
            columns = tuple(c.name for c in getattr(index, "columns", ()))
            named = index.name or (columns[0] if len(columns) == 1 else None)
            if named == violation.constraint and columns:
                return violation.with_details(columns=columns)
        for column in table.columns:
            if column.unique and column.name == violation.constraint:
                return violation.with_details(columns=(column.name,))
    return violation


@contextmanager
def _savepoint(session: Session, mapper: Mapper[Any]) -> Iterator[None]:
    """A SAVEPOINT in the caller's transaction: an error in it rolls back it alone."""
    connection = session.connection(bind_arguments={"mapper": mapper})
    if connection.dialect.name == "sqlite":
        driver = connection.connection.dbapi_connection
        if not getattr(driver, "in_transaction", True):
            # pysqlite has begun nothing yet: the SAVEPOINT would be the transaction
            # itself, its RELEASE a commit the caller's rollback could not undo.
            connection.exec_driver_sql("BEGIN")
    with session.begin_nested():
        yield


def _dialect(session: Session, mapper: Mapper[Any]) -> str:
    return str(session.get_bind(mapper).dialect.name)


def _noun(form: Any, mapper: Mapper[Any]) -> str:
    """What the messages call the record: the form's `noun`, or the model's name in words."""
    noun = getattr(form, "noun", None)
    if noun:
        return str(noun)
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", mapper.class_.__name__).lower()
