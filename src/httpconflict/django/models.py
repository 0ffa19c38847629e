"""The Idempotency-Key table as a model of your app: subclass `AbstractIdempotencyKey`.

Import it from your app's ``models.py`` (it needs Django's app registry)::

    from httpconflict.django.models import AbstractIdempotencyKey

    class IdempotencyKey(AbstractIdempotencyKey):
        class Meta(AbstractIdempotencyKey.Meta):
            db_table = "idempotency_keys"

then ``makemigrations``. The table has the columns, and the meaning, of the
SQLite and PostgreSQL key stores' ``idempotency_keys`` (plus Django's
``id``), so `idempotency_store` on the same database is the middleware's
store, and `httpconflict.django.record_answer` records an answer there in
the transaction of your view's write.
"""

from __future__ import annotations

from django.db import models

from .._idempotency import MAX_KEY_LENGTH

__all__ = ["AbstractIdempotencyKey"]


class AbstractIdempotencyKey(models.Model):  # type: ignore[misc]  # django-stubs are not installed
    """A key's record: its claim while the request runs, then its answer."""

    principal = models.CharField(max_length=MAX_KEY_LENGTH)
    key = models.CharField(max_length=MAX_KEY_LENGTH)
    fingerprint = models.CharField(max_length=64)
    #: Who holds the claim ("" for an answer recorded in a transaction).
    token = models.CharField(max_length=64)
    #: "in-flight" or "completed".
    state = models.CharField(max_length=16)
    #: The end of the lease, or of the retention (seconds since the epoch).
    expires_at = models.FloatField(db_index=True)
    status = models.IntegerField(null=True)
    headers = models.TextField(null=True)
    body = models.BinaryField(null=True)

    class Meta:
        abstract = True
        # The arbiter of a key: one record per caller and key, which
        # INSERT ... ON CONFLICT (principal, key) names.
        constraints = (
            models.UniqueConstraint(
                fields=("principal", "key"), name="%(app_label)s_%(class)s_principal_key"
            ),
        )
