"""``python -m examples.flask_app [--host 127.0.0.1] [--port 8000] [--db example-flask.db]``."""

from __future__ import annotations

import argparse

from werkzeug.serving import run_simple

from . import create_app


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m examples.flask_app", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--db", default="./example-flask.db", help="a SQLite file or a database URL"
    )
    args = parser.parse_args()
    # One thread per request: the werkzeug server is fine for an example;
    # deploy with a WSGI server such as gunicorn (--threads) instead.
    run_simple(args.host, args.port, create_app(args.db), threaded=True)


if __name__ == "__main__":
    main()
