"""An example app (FastAPI or Flask) served with a hold the test controls, and a short lease.

    python -m tests.adapters.held_examples fastapi_app|flask_app --port P --db DB --hold FILE

While FILE holds ``before-commit``, a commit waits in its transaction,
after its last statement (the engine's ``commit`` event); while it holds
``after-commit``, a session that has just committed waits before the app
goes on (the session's ``after_commit`` event). Either writes FILE + ".held"
first, so the test knows the request is there and kills the worker. The
lease of every Idempotency-Key policy is cut to ``--lease`` seconds, so a
claim left by the killed worker lapses within the test.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("example", choices=["fastapi_app", "flask_app"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--hold", type=Path, required=True)
    parser.add_argument("--lease", type=float, default=1.0)
    args = parser.parse_args()
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
