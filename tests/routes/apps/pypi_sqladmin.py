"""SQLAdmin (from PyPI) mounted in a FastAPI app, with one model's admin views."""

from __future__ import annotations

from fastapi import FastAPI
from sqladmin import Admin, ModelView
from sqlalchemy import String, create_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Product(Base):
    __tablename__ = "product"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))


class ProductAdmin(ModelView, model=Product):
    column_list = (Product.id, Product.name)


app = FastAPI()


@app.get("/health")
def health() -> str:
    return "ok"


admin = Admin(app, create_engine("sqlite://"))
admin.add_view(ProductAdmin)
