"""Apps on asyncpg, whose failing socket is an OSError: in FastAPI and in Flask (async views).

ASYNCPG_DATABASE is a PostgreSQL URL. The FastAPI app reads and writes a
row through an asyncpg pool (``/pool``), through SQLAlchemy's asyncpg
dialect (``/engine``) and through a connection of its own per request
(``/connect``); ``/busy`` asks its pool of one for a second connection,
``/slow`` runs a query past its timeout. ``/deadline/{how}`` runs a slow
query under a deadline of the app's own (``asyncio.timeout``), through the
pool, SQLAlchemy, psycopg, or ``asyncio.wait_for``, or waits under it for
the pool's one connection (``queued``); ``/own-deadline`` sleeps past one,
touching no database. The app's own OSErrors:
``/file`` reads a file that is not there, ``/upstream`` calls an HTTP
service on a port nobody listens on. The Flask app has ``/connect`` and
``/file``. ``/healthz`` touches no database.
"""

import asyncio
import os
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psycopg

DATABASE = os.environ.get("ASYNCPG_DATABASE", "")
UPSTREAM = os.environ.get("ASYNCPG_UPSTREAM", "")
MISSING = Path("/hc-no-such-directory/settings.json")
SLOW = "SELECT pg_sleep(5)"


async def connect_and_read() -> int:
    conn = await asyncpg.connect(DATABASE)
    try:
        n: int = await conn.fetchval("SELECT 1")
    finally:
        await conn.close()
    return n


def create_fastapi() -> Any:
    from contextlib import asynccontextmanager

    from fastapi import FastAPI
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    from httpconflict.fastapi import install

    engine = create_async_engine(DATABASE.replace("postgresql://", "postgresql+asyncpg://"))
    pools: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        pools["pool"] = await asyncpg.create_pool(DATABASE, min_size=1, max_size=2)
        pools["one"] = await asyncpg.create_pool(DATABASE, min_size=1, max_size=1)
        yield
        await engine.dispose()

    app = FastAPI(lifespan=lifespan)
    install(app)

    @app.get("/healthz")
    async def healthz() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/pool")
    async def pool_read() -> dict[str, int]:
        return {"n": await pools["pool"].fetchval("SELECT 1")}

    @app.put("/pool")
    async def pool_write() -> dict[str, int]:
        return {"n": await pools["pool"].fetchval("SELECT 2")}

    @app.get("/engine")
    async def engine_read() -> dict[str, int]:
        async with engine.connect() as conn:
            return {"n": (await conn.execute(text("SELECT 1"))).scalar_one()}

    @app.get("/connect")
    async def connect() -> dict[str, int]:
        return {"n": await connect_and_read()}

    @app.get("/busy")
    async def busy() -> dict[str, int]:
        async with pools["one"].acquire(), pools["one"].acquire(timeout=0.05) as conn:
            return {"n": await conn.fetchval("SELECT 1")}

    @app.api_route("/slow", methods=["GET", "PUT"])
    async def slow() -> dict[str, int]:
        await pools["pool"].execute(SLOW, timeout=0.1)
        return {"n": 0}

    @app.api_route("/deadline/{how}", methods=["GET", "PUT"])
    async def deadline(how: str) -> dict[str, int]:
        if how == "wait_for":
            await asyncio.wait_for(pools["pool"].execute(SLOW), 0.1)
        elif how == "queued":
            async with pools["one"].acquire(), asyncio.timeout(0.1), pools["one"].acquire():
                pass
        elif how == "psycopg":
            async with await psycopg.AsyncConnection.connect(DATABASE, autocommit=True) as conn:
                async with asyncio.timeout(0.1):
                    await conn.execute(SLOW)
        else:
            async with asyncio.timeout(0.1):
                if how == "engine":
                    async with engine.connect() as conn:
                        await conn.execute(text(SLOW))
                else:
                    await pools["pool"].execute(SLOW)
        return {"n": 0}

    @app.get("/own-deadline")
    async def own_deadline() -> dict[str, int]:
        async with asyncio.timeout(0.05):
            await asyncio.sleep(5)
        return {"n": 0}

    @app.get("/file")
    async def file() -> dict[str, str]:
        return {"text": await asyncio.to_thread(MISSING.read_text)}

    @app.get("/upstream")
    async def upstream() -> dict[str, int]:
        async with httpx.AsyncClient() as client:
            return {"status": (await client.get(UPSTREAM)).status_code}

    return app


def create_flask() -> Any:
    from flask import Flask, jsonify

    from httpconflict.flask import install

    app = Flask(__name__)
    install(app)

    @app.get("/healthz")
    def healthz() -> Any:
        return jsonify(ok=True)

    @app.get("/connect")
    async def connect() -> Any:
        return jsonify(n=await connect_and_read())

    @app.get("/file")
    def file() -> Any:
        return jsonify(text=MISSING.read_text())

    return app
