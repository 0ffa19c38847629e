"""HTML forms that save only over what they showed: WTForms forms, SQLAlchemy rows.

    class NoteForm(VersionedFormMixin, FlaskForm):      # or wtforms.Form
        title = StringField("Title")

    form = NoteForm(request.form, obj=note)             # the hidden version: note's
    if form.validate_on_submit() and save_form(db.session, form, note):
        db.session.commit()
        return redirect(...)
    return render_template("edit.html", form=form)      # refused: says why, keeps the input

A browser's form cannot send If-Match: the version the form was opened on
travels in it, hidden (`VersionField`), and `save_form` writes the row in
one ``UPDATE ... WHERE id = ? AND version = ?`` with that version plus
one. A stale form (someone saved since it was opened) is shown again,
nothing written, naming what is stored now; saving it again replaces that
knowingly. A duplicate the database's unique index refuses is the field's
error, not a 500. The form also carries an Idempotency-Key
(`FormKeyField`, ``idempotency_key``), which the WSGI middleware reads
with ``IdempotencyPolicy(form_field=FORM_KEY_FIELD)``: a double-clicked
Save runs once. How: _form_fields.py, _form_save.py.
"""

try:
    import sqlalchemy  # noqa: F401  # first: without them, the error names the extra
    import wtforms  # noqa: F401
except ModuleNotFoundError as error:
    from .._extras import missing_extra

    raise missing_extra(error, "flask-forms", __name__) from None

from ._form_fields import FORM_KEY_FIELD, FormKeyField, VersionedFormMixin, VersionField
from ._form_save import save_form

__all__ = [
    "FORM_KEY_FIELD",
    "FormKeyField",
    "VersionField",
    "VersionedFormMixin",
    "save_form",
]
