"""Apps whose views use Redis (redis-py): FastAPI on ``redis.asyncio``, Flask on the sync client.

REDIS_APP_URL is the Redis they use; with REDIS_APP_CLUSTER set, a node of
a Redis Cluster, which they use through redis-py's cluster client. Each has
``GET /value`` (a GET), ``POST /take`` (a BLMOVE that waits up to 5 s for a
job and moves it: a write that is in flight while the client waits),
``POST /count`` (an INCR), ``GET /values`` (an MGET of two keys of one
slot), ``POST /pipeline`` and ``POST /transaction`` (an LPOP that takes a
job, then a SET that records it, in a pipeline, or in MULTI/EXEC),
``GET /wrongtype`` (an LPUSH onto a string: the app's own bug) and ``GET
/healthz`` (no Redis). The clients time a read out after 1 s and do not
retry (``retries=0``): redis-py's retry sends a command again after its
connection broke, so a write would be applied twice and the outage hidden
from the answer.
"""

import os
from typing import Any

from redis.backoff import NoBackoff
from redis.retry import Retry

URL = os.environ.get("REDIS_APP_URL", "")
CLUSTER = bool(os.environ.get("REDIS_APP_CLUSTER"))
#: The keyword arguments of each app's client (and of the Django project's cache).
OPTIONS: dict[str, Any] = {"socket_timeout": 1, "retry": Retry(NoBackoff(), 0)}
#: The keys of /values (one slot: a cluster serves them from one node) and of /count.
VALUES = ("{t}a", "{t}b")
COUNT = "{t}n"


def sync_client() -> Any:
    """The sync client of REDIS_APP_URL (a cluster's, with REDIS_APP_CLUSTER)."""
    import redis

    kind = redis.RedisCluster if CLUSTER else redis.Redis
    return kind.from_url(URL, **OPTIONS)


def decoded(values: list[Any]) -> list[str | None]:
    return [value.decode() if isinstance(value, bytes) else None for value in values]


def create_fastapi() -> Any:
    import redis.asyncio
    from fastapi import FastAPI
    from redis.asyncio.retry import Retry as AsyncRetry

    from httpconflict.fastapi import install

    kind = redis.asyncio.RedisCluster if CLUSTER else redis.asyncio.Redis
    client = kind.from_url(URL, **{**OPTIONS, "retry": AsyncRetry(NoBackoff(), 0)})
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

    @app.post("/count")
    async def count() -> dict[str, int]:
        return {"n": await client.incr(COUNT)}

    @app.get("/values")
    async def values() -> dict[str, Any]:
        return {"values": decoded(await client.mget(*VALUES))}

    @app.post("/pipeline")
    async def pipeline() -> dict[str, Any]:
        return {"job": decoded(await take_and_record(client, transaction=False))[0]}

    @app.post("/transaction")
    async def transaction() -> dict[str, Any]:
        return {"job": decoded(await take_and_record(client, transaction=True))[0]}

    @app.get("/wrongtype")
    async def wrongtype() -> dict[str, int]:
        await client.set("string", "x")
        return {"n": await client.lpush("string", "y")}

    return app


def create_flask() -> Any:
    from flask import Flask, jsonify

    from httpconflict.flask import install

    client = sync_client()
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

    @app.post("/count")
    def count() -> Any:
        return jsonify(n=client.incr(COUNT))

    @app.get("/values")
    def values() -> Any:
        return jsonify(values=decoded(client.mget(*VALUES)))

    @app.post("/pipeline")
    def pipeline() -> Any:
        return jsonify(job=decoded(take_and_record(client, transaction=False))[0])

    @app.post("/transaction")
    def transaction() -> Any:
        return jsonify(job=decoded(take_and_record(client, transaction=True))[0])

    @app.get("/wrongtype")
    def wrongtype() -> Any:
        client.set("string", "x")
        return jsonify(n=client.lpush("string", "y"))

    return app


def take_and_record(client: Any, *, transaction: bool) -> Any:
    """Take a job (LPOP) and record that one was taken (SET), as a pipeline: its replies.

    A coroutine for a redis.asyncio client.
    """
    pipe = client.pipeline(transaction=transaction)
    pipe.lpop("jobs")
    pipe.set("last", "taken")
    return pipe.execute()
