"""A Django project on `conflict_ledger` whose transaction a middleware commits after the view.

``AtomicAfterView`` runs the rest of the request in ``transaction.atomic()``
(as ``ATOMIC_REQUESTS`` does, but around the view's middleware too): its
COMMIT comes after the view formed its answer, and an error there reaches
Django's ``handler500`` (`httpconflict.django.server_error`). PostgreSQL
or MariaDB at SERIALIZABLE. Keys: the WSGI `IdempotencyMiddleware` (in
memory) around the project (ledger_django.py, with the views). Run as a
server process (``start_app(..., wsgi=True)``) from ``CONFLICT_DATABASE``;
never imported by the test process.
"""

from __future__ import annotations

import os
from contextlib import nullcontext
from typing import Any

from tests.adapters.django_databases import database
from tests.adapters.ledger_django import configure, ledger_urls
from tests.adapters.ledger_django import create_app as create_app

_URL = os.environ["CONFLICT_DATABASE"]
_SERIALIZABLE: Any = "serializable"
if _URL.startswith("postgresql://"):
    import psycopg

    _SERIALIZABLE = psycopg.IsolationLevel.SERIALIZABLE
_DATABASE = database(_URL)
_DATABASE["OPTIONS"]["isolation_level"] = _SERIALIZABLE

configure(__name__, _DATABASE, atomic_after_view=True)

handler500 = "httpconflict.django.server_error"

# The views write in `AtomicAfterView`'s transaction.
urlpatterns = ledger_urls(nullcontext)
