"""The library's commit hooks for the ORMs an app has loaded, added when a request is watched.

Theory of operation: a request's commits are told by hooks on its ORM
(`_request_writes`): SQLAlchemy's engine events, Django's execute wrappers.
They were added when the app imported the library's package for that ORM
(``httpconflict.sqlalchemy``) or installed its middleware (Django's
``ProblemMiddleware``). An app that used its ORM with nothing of the
library's but an `IdempotencyMiddleware` had none: a commit followed by a
bug was taken for "nothing applied", the key was released, and the
client's resend with it wrote again (a second order, tests/adapters/
test_unhooked_orm.py). So each watch that opens (`hook_loaded_orms`) first
adds the hooks of every ORM already imported in the process. Only those:
the core imports no framework, and an ORM the app has not imported has
made no commit to tell. Once added, a look at `sys.modules` costs nothing.
"""

from __future__ import annotations

import importlib
import logging
import sys
import threading
from typing import Final

__all__ = ["hook_loaded_orms"]

log = logging.getLogger("httpconflict")

#: The ORM's module (imported by the app) -> the library's module whose `track_commits()`
#: adds the hooks that tell that ORM's commits.
_HOOKS: Final = {
    "sqlalchemy": "httpconflict.sqlalchemy._commits",
    "django.db": "httpconflict.django._commits",
}
#: ORMs whose hooks are added (or could not be: said once in the log).
_hooked: set[str] = set()
_lock: Final = threading.Lock()


def hook_loaded_orms() -> None:
    """Add the commit hooks of each ORM this process has imported, once each."""
    if len(_hooked) == len(_HOOKS):
        return
    for orm, hooks in _HOOKS.items():
        if orm not in _hooked and orm in sys.modules:
            with _lock:
                if orm not in _hooked:
                    _hooked.add(orm)
                    _hook(orm, hooks)


def _hook(orm: str, hooks: str) -> None:
    try:
        importlib.import_module(hooks).track_commits()
    except Exception as error:  # an ORM too old for the hooks, a Django not set up: said
        log.warning(
            "httpconflict cannot watch the commits of %s (%s: %s): a request that commits "
            "and then fails may have its Idempotency-Key released; import httpconflict's "
            "package for it, or call httpconflict.mark_applied() after each commit",
            orm,
            type(error).__name__,
            error,
        )
