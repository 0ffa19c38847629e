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

On MySQL and MariaDB the principal and the key are ``VARBINARY`` columns
(`ExactCharField`): the servers' default collations compare ``Alice`` and
``alice``, or ``k`` and ``k `` (a trailing space), as equal, and one caller
would be replayed another request's answer. The headers are ``LONGTEXT``
and the body ``LONGBLOB`` there (Django's own types for these fields).
"""

from __future__ import annotations

from typing import Any

from django.db import models

from .._idempotency import MAX_KEY_LENGTH

__all__ = ["AbstractIdempotencyKey", "ExactCharField"]


class ExactCharField(models.CharField):  # type: ignore[misc]  # django-stubs are not installed
    """A CharField compared character for character, also on MySQL and MariaDB.

    There it is ``VARBINARY`` (the bytes of its UTF-8, up to 4 per
    character): no collation folds case or pads a trailing space. Elsewhere
    it is a CharField (SQLite and PostgreSQL compare exactly already).
    """

    def db_type(self, connection: Any) -> str | None:
        if connection.vendor == "mysql":
            return f"varbinary({4 * self.max_length})"
        found: str | None = super().db_type(connection)
        return found

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if isinstance(value, bytes | bytearray | memoryview):
            return bytes(value).decode()
        return value


class AbstractIdempotencyKey(models.Model):  # type: ignore[misc]  # django-stubs are not installed
    """A key's record: its claim while the request runs, then its answer."""

    principal = ExactCharField(max_length=MAX_KEY_LENGTH)
    key = ExactCharField(max_length=MAX_KEY_LENGTH)
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
