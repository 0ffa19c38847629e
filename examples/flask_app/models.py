"""The tables: users with a unique email, versioned notes, orders, Idempotency-Keys."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from httpconflict.sqlalchemy import idempotency_keys_table


class Base(DeclarativeBase):
    def to_dict(self) -> dict[str, Any]:
        # The version is not in the body: the ETag carries it.
        return {c.key: getattr(self, c.key) for c in self.__table__.columns if c.key != "version"}


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    # The unique index, not a SELECT beforehand, decides who gets an email.
    email: Mapped[str] = mapped_column(unique=True)
    name: Mapped[str]


class Note(Base):
    __tablename__ = "notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str]
    count: Mapped[int]
    writer: Mapped[str]
    # Its ETag; httpconflict.sqlalchemy counts it up by one per write.
    version: Mapped[int] = mapped_column(default=1)


class Order(Base):
    __tablename__ = "orders"
    id: Mapped[int] = mapped_column(primary_key=True)
    item: Mapped[str]
    qty: Mapped[int]


# An order's answer is recorded here in the order's own transaction.
idempotency_keys = idempotency_keys_table(Base.metadata)
