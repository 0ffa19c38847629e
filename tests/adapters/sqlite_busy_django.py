"""A Django project on `conflict_ledger` in an SQLite file, each write's COMMIT one way.

``BUSY_DJANGO_MODE`` says how the views' transaction is committed:

- ``atomic_requests``: ``ATOMIC_REQUESTS``, the COMMIT as the view returns;
- ``atomic_view``: the view's own ``transaction.atomic()``;
- ``middleware``: a middleware's ``transaction.atomic()`` around the view, the COMMIT
  after the view formed its answer (an error there reaches ``handler500``,
  `httpconflict.django.server_error`);
- ``autocommit``: ``set_autocommit(False)``, ``commit()``, and
  ``set_autocommit(True)`` in a ``finally`` (Django's docs warn against it:
  sqlite3 commits an open transaction as autocommit is turned back on).

The file keeps its rollback journal (no WAL), so a reader of another
process keeps every COMMIT out; the busy timeout is ``CONFLICT_SQLITE_BUSY_TIMEOUT``.
`httpconflict.django.ProblemMiddleware` answers errors; keys: the WSGI
`IdempotencyMiddleware` (in memory) around the project (ledger_django.py,
with the views). Run as a server process (``create_app()``); never
imported by the test process.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import transaction

from tests.adapters.conflict_ledger import BUSY_TIMEOUT
from tests.adapters.ledger_django import configure, ledger_urls
from tests.adapters.ledger_django import create_app as create_app

MODE = os.environ["BUSY_DJANGO_MODE"]

configure(
    __name__,
    {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ["CONFLICT_DATABASE"],
        "OPTIONS": {"timeout": float(os.environ[BUSY_TIMEOUT])},
        "ATOMIC_REQUESTS": MODE == "atomic_requests",
    },
    atomic_after_view=MODE == "middleware",
)

handler500 = "httpconflict.django.server_error"


@contextmanager
def _write() -> Iterator[None]:
    """The view's transaction, as `MODE` makes it."""
    if MODE == "atomic_view":
        with transaction.atomic():
            yield
    elif MODE == "autocommit":
        transaction.set_autocommit(False)
        try:
            yield
            transaction.commit()
        finally:
            transaction.set_autocommit(True)
    else:
        yield


urlpatterns = ledger_urls(_write)
