"""Serve a WSGI app factory on 127.0.0.1: ``python -m tests.apps.wsgi module:factory PORT``."""

from __future__ import annotations

import importlib
import sys

from werkzeug.serving import run_simple


def main() -> None:
    target, port = sys.argv[1], int(sys.argv[2])
    module_name, _, factory = target.partition(":")
    app = getattr(importlib.import_module(module_name), factory)()
    run_simple("127.0.0.1", port, app, threaded=True)


if __name__ == "__main__":
    main()
