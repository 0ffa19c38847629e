"""An example app served with a hold the test controls, and a short lease.

    python -m tests.adapters.held_examples fastapi_app|flask_app|django_app \
        --port P --db DB --hold FILE

While FILE holds ``before-commit``, a commit waits in its transaction,
after its last statement (SQLAlchemy: the engine's ``commit`` event;
Django: its connection's ``commit``); while it holds ``after-commit``, a
write that has just committed waits before the app goes on (SQLAlchemy:
the session's ``after_commit`` event; Django: the order view returned,
its order written in a transaction or in autocommit mode). Either writes FILE +
".held" first, so the test knows the request is there and kills the
worker. The lease of every Idempotency-Key policy is cut to ``--lease``
seconds, so a claim left by the killed worker lapses within the test.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import importlib
import os
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from httpconflict.asgi import IdempotencyMiddleware as AsgiIdempotency
from httpconflict.asgi import IdempotencyPolicy

MOMENTS = ("before-commit", "after-commit")


def hold_at(hold: Path, moment: str) -> None:
    """Wait (until killed) if the test asks for a hold at `moment`."""
    try:
        wanted = hold.read_text()
    except FileNotFoundError:
        return
    if wanted == moment:
        hold.with_suffix(".held").write_text(moment)
        time.sleep(120)


def shorter(policy: Any, lease: float) -> Any:
    """`policy` (a policy, a function of the request, or None) with `lease`."""

    def choose(request: Any) -> IdempotencyPolicy | None:
        chosen = policy(request) if callable(policy) else policy or IdempotencyPolicy()
        return None if chosen is None else dataclasses.replace(chosen, lease=lease)

    return choose


def serve_django(args: argparse.Namespace) -> None:
    """The Django example as its ``__main__`` serves it, with the holds and the lease."""
    os.environ["EXAMPLE_DJANGO_DB"] = args.db
    os.environ["DJANGO_SETTINGS_MODULE"] = "examples.django_app.settings"
    import django
    from django.core.management import call_command
    from django.db.backends.base.base import BaseDatabaseWrapper

    django.setup()
    call_command("migrate", verbosity=0)
    hold: Path = args.hold
    commit = BaseDatabaseWrapper.commit

    def held_commit(connection: BaseDatabaseWrapper) -> None:
        hold_at(hold, "before-commit")
        commit(connection)

    BaseDatabaseWrapper.commit = held_commit
    views: Any = importlib.import_module("examples.django_app.views")
    create = views.OrderViewSet.create

    def held_create(view: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        answer = create(view, request, *args, **kwargs)
        hold_at(hold, "after-commit")  # the order is written, its answer not yet sent
        return answer

    views.OrderViewSet.create = held_create
    asgi: Any = importlib.import_module("examples.django_app.asgi")
    middleware = asgi.IdempotencyMiddleware

    def shortened(app: Any, **kwargs: Any) -> Any:
        kwargs["policy"] = shorter(kwargs.get("policy"), args.lease)
        return middleware(app, **kwargs)

    asgi.IdempotencyMiddleware = shortened
    # uvicorn shuts down on SIGINT, then raises it again for the caller.
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(asgi.serve("127.0.0.1", args.port, args.db))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("example", choices=["fastapi_app", "flask_app", "django_app"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--hold", type=Path, required=True)
    parser.add_argument("--lease", type=float, default=1.0)
    args = parser.parse_args()
    if args.example == "django_app":
        serve_django(args)
        return
    hold: Path = args.hold
    event.listen(Engine, "commit", lambda _connection: hold_at(hold, "before-commit"))
    event.listen(Session, "after_commit", lambda _session: hold_at(hold, "after-commit"))
    app: Any = importlib.import_module(f"examples.{args.example}.app").create_app(args.db)
    if args.example == "fastapi_app":
        import uvicorn

        for middleware in app.user_middleware:
            if middleware.cls is AsgiIdempotency:
                middleware.kwargs["policy"] = shorter(middleware.kwargs.get("policy"), args.lease)
        uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")
    else:
        from werkzeug.serving import run_simple

        app.wsgi_app.policy = shorter(app.wsgi_app.policy, args.lease)
        run_simple("127.0.0.1", args.port, app, threaded=True)


if __name__ == "__main__":
    main()
