"""Tables (SQLAlchemy) and request/response bodies (Pydantic).

Notes and users carry a `version` column: httpconflict derives their ETag
from it and bumps it in the one UPDATE that checks it. The Idempotency-Keys
have their table here too, so that an order and its key commit together.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from httpconflict.sqlalchemy import idempotency_keys_table


class Base(DeclarativeBase):
    pass


idempotency_keys = idempotency_keys_table(Base.metadata)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str]
    version: Mapped[int] = mapped_column(default=1)


class Note(Base):
    __tablename__ = "notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str]
    count: Mapped[int]
    writer: Mapped[str]
    version: Mapped[int] = mapped_column(default=1)


class Order(Base):
    __tablename__ = "orders"
    id: Mapped[int] = mapped_column(primary_key=True)
    item: Mapped[str]
    qty: Mapped[int]


class UserIn(BaseModel):
    email: str
    name: str


class NoteIn(BaseModel):
    title: str
    count: int = 0
    writer: str = ""


class OrderIn(BaseModel):
    item: str
    qty: int = 1


class UserOut(UserIn):
    model_config = ConfigDict(from_attributes=True)
    id: int


class NoteOut(NoteIn):
    model_config = ConfigDict(from_attributes=True)
    id: int


class OrderOut(OrderIn):
    model_config = ConfigDict(from_attributes=True)
    id: int
