"""The example API in FastAPI + SQLAlchemy; run with ``python -m examples.fastapi_app``."""
