"""The previous release's Django names and call shapes: run by test_django_renamed.py.

In its own process (Django is configured once per process), on a SQLite
file: each old call still does what it did, warns with its replacement,
and the new call gives the shape of docs/api.md. Prints one JSON object.
"""

from __future__ import annotations

import json
import sys
import warnings
from collections.abc import Callable
from typing import Any

import django
from django.conf import settings

settings.configure(
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": sys.argv[1]}},
    INSTALLED_APPS=[],
    USE_TZ=True,
)
django.setup()

from django.db import connection, models  # noqa: E402
from django.test import RequestFactory  # noqa: E402

from httpconflict import Conditions, ETag, Patch, PreconditionFailed, VersionedRow  # noqa: E402
from httpconflict.django import (  # noqa: E402
    error_response,
    etag_of,
    version_etag,
    versioned_patch,
    versioned_update,
)


class Note(models.Model):  # type: ignore[misc]
    title = models.CharField(max_length=200)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        app_label = "renamed"


def warned(call: Callable[[], Any]) -> tuple[Any, list[str]]:
    """What `call` returns, and the deprecation warnings it raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = call()
    return value, [str(w.message) for w in caught if w.category is DeprecationWarning]


def main() -> None:
    with connection.schema_editor() as editor:
        editor.create_model(Note)
    note = Note.objects.create(title="a")
    put = RequestFactory().put("/", headers={"If-Match": '"1"'})
    found: dict[str, Any] = {}

    # The old orders, on purpose: mypy rightly refuses them.
    old_update: Any = versioned_update
    old_patch: Any = versioned_patch
    row, found["old_update"] = warned(lambda: old_update(Note, note.pk, put, {"title": "b"}))
    found["old_update_row"] = [type(row).__name__, row.title, row.version]
    new, found["new_update"] = warned(
        lambda: versioned_update(
            Note, note.pk, {"title": "c"}, Conditions.from_headers({"if-match": '"2"'})
        )
    )
    assert isinstance(new, VersionedRow)
    found["new_update_row"] = [new.row.title, new.etag.to_header(), new.changed]

    merge = Patch("application/merge-patch+json", {"title": "d"})
    pair, found["old_patch"] = warned(
        lambda: old_patch(
            Note,
            note.pk,
            Conditions.from_headers({"if-match": '"3"'}),
            merge,
            document=lambda r: {"title": r.title},
        )
    )
    found["old_patch_pair"] = [pair[0].title, pair[1].outcome.value]
    patched, found["new_patch"] = warned(
        lambda: versioned_patch(
            Note,
            note.pk,
            merge,
            Conditions.from_headers({"if-match": '"4"'}),
            document=lambda r: {"title": r.title},
        )
    )
    found["new_patch_row"] = [patched.row.title, patched.etag.to_header(), patched.changed]

    tag, found["version_etag"] = warned(lambda: version_etag(patched.row))
    found["etag_of"] = [tag == etag_of(patched.row) == ETag("4")]
    answer, found["error_response"] = warned(
        lambda: error_response(PreconditionFailed("stale", current_etag='"4"'))
    )
    found["error_response_status"] = answer.status_code
    print(json.dumps(found))


if __name__ == "__main__":
    main()
