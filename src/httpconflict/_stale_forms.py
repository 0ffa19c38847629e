"""What an HTML form refused as stale tells its user: decided once, for every framework.

A browser's form cannot send If-Match, so a form carries the version it
was opened on in a hidden field, and its save is a guarded write that
matches the row only at that version. When it matches nothing, the form
is shown again, nothing written, with one of these messages: what is
stored now where it differs from what was sent (`difference`), and that
saving again replaces it, since the form's hidden version now names what
the user was shown (`stale_form_message`). Django's forms and admin and
the WTForms forms of Flask apps say the same words.

Also the script a form key's hidden input is followed by (`KEEP_FORM_KEY`):
Back shows a page fetched again, with a new key, and the browser restores
what the user had typed; the script puts back the key the page had, so
the same form sent again unchanged is the first submission's duplicate.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

__all__ = [
    "KEEP_FORM_KEY",
    "deleted_form_message",
    "difference",
    "quoted",
    "stale_action_message",
    "stale_delete_message",
    "stale_form_message",
    "stale_selection_message",
    "unversioned_form_message",
]

#: Characters of a stored value the stale form's error quotes.
_QUOTED: Final = 60

#: After a form key's input: the page's key kept in ``history.state``, and put back when the
#: page is shown again by Back. Pages that may not be cached are fetched again by Back, with
#: a new key, and the browser restores what the user had typed: without the key it had, the
#: form sent again unchanged was another submission, which added a second row.
KEEP_FORM_KEY: Final = (
    "<script>(function(i){var h=window.history,s=h.state,n='httpconflict:'+i.name;"
    "if(s&&typeof s==='object'&&typeof s[n]==='string'){i.value=s[n];return}"
    "var t=Object.assign({},s&&typeof s==='object'?s:{});t[n]=i.value;"
    "try{h.replaceState(t,'')}catch(e){}})(document.currentScript.previousElementSibling)"
    "</script>"
)


def quoted(value: str) -> str:
    """`value` in quotation marks, cut to 60 characters."""
    cut = value if len(value) <= _QUOTED else value[: _QUOTED - 3] + "..."
    return f"“{cut}”"


def difference(label: str, stored: str) -> str:
    """One field that differs: its label and the value stored now, quoted."""
    return f"{label} {quoted(stored)}"


def stale_form_message(
    noun: str, opened: object, stored: object, differences: Sequence[str]
) -> str:
    """A form opened on version `opened` of a record now at `stored`: nothing was saved."""
    return (
        f"Someone else saved this {noun} after you opened it (version {opened}, now "
        f"{stored}); nothing was saved. {_review(differences)}"
    )


def stale_delete_message(
    noun: str, seen: str, opened: object, stored: object, differences: Sequence[str]
) -> str:
    """A delete asked for from a page (`seen`: "it", "this page") of version `opened`, now `stored`.

    Nothing was deleted; `differences` name what is stored now, and the
    user is shown the confirmation of that.
    """
    now = f" Stored now: {'; '.join(differences)}." if differences else ""
    return (
        f"Someone else saved this {noun} after you opened {seen} (version {opened}, now "
        f"{stored}); nothing was deleted.{now} What is deleted with it is listed below: "
        "confirm to delete it as stored now."
    )


def stale_selection_message(noun: str, changed: Sequence[tuple[str, object, object]]) -> str:
    """Rows selected to be deleted, saved since the page showed them: nothing was deleted.

    `changed`: each row's name (quoted), the version shown and the version stored.
    """
    rows, them = _selected(changed)
    return (
        f"Someone else saved the {noun} {rows} after this page showed {them}; nothing was "
        "deleted. The list shows what is stored now: select again to delete."
    )


def stale_action_message(
    noun: str, changed: Sequence[tuple[str, object, object]], action: str
) -> str:
    """Rows selected for `action` (its description), saved since the page showed them: not done.

    `changed`: each row's name (quoted), the version shown and the version stored.
    """
    rows, them = _selected(changed)
    return (
        f"Someone else saved the {noun} {rows} after this page showed {them}; "
        f"{quoted(action)} was not done. The list shows what is stored now: select again "
        "to do it."
    )


def unversioned_form_message(noun: str, differences: Sequence[str]) -> str:
    """A form sent without a version it was opened on (or none a column holds): nothing saved."""
    return (
        f"This form did not say which version of the {noun} it was opened on; "
        f"nothing was saved. {_review(differences)}"
    )


def deleted_form_message(noun: str) -> str:
    """A form whose record was deleted after it was opened."""
    return f"This {noun} was deleted after you opened it; nothing was saved."


def _selected(changed: Sequence[tuple[str, object, object]]) -> tuple[str, str]:
    """The rows saved since a page showed them, named with their versions; "it" or "them"."""
    rows = ", ".join(f"{name} (version {opened}, now {stored})" for name, opened, stored in changed)
    return rows, "it" if len(changed) == 1 else "them"


def _review(differences: Sequence[str]) -> str:
    if differences:
        return (
            f"Stored now: {'; '.join(differences)}. Your values are kept below: save again "
            "to replace the stored ones with them."
        )
    return "The fields below hold your values: save again to save them."
