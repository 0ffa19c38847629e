"""A FastAPI app in Prefect's server's shape: the API app mounted at /api, the UI's app at /.

Every FastAPI app serves its own /docs, /redoc and /openapi.json unless
told not to, so the UI's app, mounted at /, declares them again behind
the outer app's: never served. Prefect showed that the report named the
same handler, file and line on both sides of each finding
(``FastAPI.setup.<locals>.openapi (fastapi/applications.py:1123)`` twice),
with nothing to say which app each route was in.
"""

from __future__ import annotations

from fastapi import FastAPI

api = FastAPI(title="API")
ui = FastAPI(title="UI")


@api.get("/health")
def health() -> bool:
    return True


@ui.get("/ui-settings")
def ui_settings() -> dict[str, str]:
    return {}


app = FastAPI(title="Server")
app.mount("/api", api, name="api")
app.mount("/", ui, name="ui")
