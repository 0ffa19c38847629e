"""Serve the example: ``python -m examples.django_app [--host H] [--port P] [--db FILE]``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m examples.django_app")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--db",
        default="example-django.db",
        help="SQLite file, or a postgresql:// or mysql:// URL",
    )
    args = parser.parse_args()
    os.environ["EXAMPLE_DJANGO_DB"] = args.db
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "examples.django_app.settings")

    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)  # creates the tables on the first start

    from .asgi import serve

    # uvicorn shuts down on Ctrl+C, then raises it again for the caller.
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.host, args.port, args.db))


if __name__ == "__main__":
    main()
