"""Users (unique email), notes (versioned) and orders.

Users and notes carry a `version`: httpconflict makes it their ETag and
bumps it in the one UPDATE that checks it.
"""

from __future__ import annotations

from django.db import models


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
