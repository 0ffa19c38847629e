"""The example API in Flask + SQLAlchemy: ``python -m examples.flask_app``."""

from .app import create_app

__all__ = ["create_app"]
