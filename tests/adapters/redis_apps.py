"""Apps whose views use Redis (redis-py): FastAPI on ``redis.asyncio``, Flask on the sync client.

REDIS_APP_URL is the Redis they use. Each has ``GET /value`` (a GET),
``POST /take`` (a BLMOVE that waits up to 5 s for a job and moves it: a
write that is in flight while the client waits), ``GET /wrongtype`` (an
LPUSH onto a string: the app's own bug) and ``GET /healthz`` (no Redis).
The clients time a read out after 1 s and do not retry (``retries=0``):
redis-py's retry sends a command again after its connection broke, so a
write would be applied twice and the outage hidden from the answer.
"""

import os
from typing import Any

from redis.backoff import NoBackoff
from redis.retry import Retry

URL = os.environ.get("REDIS_APP_URL", "")
#: The keyword arguments of each app's client (and of the Django project's cache).
OPTIONS: dict[str, Any] = {"socket_timeout": 1, "retry": Retry(NoBackoff(), 0)}


def create_fastapi() -> Any:
    import redis.asyncio
    from fastapi import FastAPI
    from redis.asyncio.retry import Retry as AsyncRetry

    from httpconflict.fastapi import install

    client = redis.asyncio.Redis.from_url(URL, **{**OPTIONS, "retry": AsyncRetry(NoBackoff(), 0)})
    app = FastAPI()
    install(app)

    @app.get("/healthz")
    async def healthz() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/value")
    async def value() -> dict[str, Any]:
        found = await client.get("value")
        return {"value": found.decode() if isinstance(found, bytes) else None}

    @app.post("/take")
    async def take() -> dict[str, Any]:
        job = await client.blmove("jobs", "taken", 5)
        return {"job": job.decode() if isinstance(job, bytes) else None}

    @app.get("/wrongtype")
    async def wrongtype() -> dict[str, int]:
        await client.set("string", "x")
        return {"n": await client.lpush("string", "y")}

    return app


def create_flask() -> Any:
    import redis
    from flask import Flask, jsonify

    from httpconflict.flask import install

    client = redis.Redis.from_url(URL, **OPTIONS)
    app = Flask(__name__)
    install(app)

    @app.get("/healthz")
    def healthz() -> Any:
        return jsonify(ok=True)

    @app.get("/value")
    def value() -> Any:
        found = client.get("value")
        return jsonify(value=found.decode() if isinstance(found, bytes) else None)

    @app.post("/take")
    def take() -> Any:
        job = client.blmove("jobs", "taken", 5)
        return jsonify(job=job.decode() if isinstance(job, bytes) else None)

    @app.get("/wrongtype")
    def wrongtype() -> Any:
        client.set("string", "x")
        return jsonify(n=client.lpush("string", "y"))

    return app
