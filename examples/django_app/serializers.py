"""Request and response bodies."""

from __future__ import annotations

from rest_framework import serializers

from .models import Note, Order, User


class UserSerializer(serializers.ModelSerializer):  # type: ignore[misc]
    # Declared, so without the UniqueValidator ModelSerializer would add: its
    # SELECT before the INSERT races. The unique index decides, and its
    # IntegrityError is answered 409 naming "email".
    email = serializers.EmailField(max_length=254)

    class Meta:
        model = User
        fields = ("id", "email", "name")


class NoteSerializer(serializers.ModelSerializer):  # type: ignore[misc]
    class Meta:
        model = Note
        fields = ("id", "title", "count", "writer")


class OrderSerializer(serializers.ModelSerializer):  # type: ignore[misc]
    class Meta:
        model = Order
        fields = ("id", "item", "qty")
