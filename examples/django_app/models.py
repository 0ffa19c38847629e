"""Users (unique email), notes (versioned), orders and Idempotency-Keys.

Users and notes carry a `version`: httpconflict makes it their ETag and
bumps it in the one UPDATE that checks it. An order's answer is recorded in
`IdempotencyKey` in the order's own transaction.
"""

from __future__ import annotations

from django.db import models

from httpconflict.django.models import AbstractIdempotencyKey


class User(models.Model):  # type: ignore[misc]
    # The unique index, not a check before the INSERT, decides who gets an email.
    email = models.EmailField(unique=True)
    name = models.CharField(max_length=200)
    version = models.PositiveIntegerField(default=1)


class Note(models.Model):  # type: ignore[misc]
    title = models.CharField(max_length=200)
    count = models.IntegerField(default=0)
    writer = models.CharField(max_length=200, blank=True, default="")
    version = models.PositiveIntegerField(default=1)


class Order(models.Model):  # type: ignore[misc]
    item = models.CharField(max_length=200)
    qty = models.PositiveIntegerField()


class IdempotencyKey(AbstractIdempotencyKey):
    class Meta(AbstractIdempotencyKey.Meta):
        db_table = "idempotency_keys"  # where httpconflict's stores look
