"""``python -m examples.flask_app [--host 127.0.0.1] [--port 8000] [--db example-flask.db]``."""

from __future__ import annotations

import argparse
import signal
import threading
from typing import Any

from werkzeug.serving import ThreadedWSGIServer

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
    server = ThreadedWSGIServer(args.host, args.port, create_app(args.db))
    # Stopped (Ctrl-C, SIGTERM), it lets the requests it is serving finish,
    # which werkzeug's own daemon threads would not: a write cut off after its
    # commit would leave its Idempotency-Key claimed and unanswered, its retry
    # refused (409) until the lease ran out, then run again.
    server.daemon_threads = False

    def stop(signum: int, frame: Any) -> None:
        # shutdown() waits for serve_forever to return: from another thread.
        threading.Thread(target=server.shutdown).start()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    print(f"Serving on http://{args.host}:{server.port} (Ctrl-C to stop)", flush=True)
    server.serve_forever()  # then closes, waiting for the requests it is serving


if __name__ == "__main__":
    main()
