"""Whether the uvicorn server this worker runs in is stopping (SIGTERM, SIGINT).

uvicorn sets `should_exit` on its `Server` when a signal comes, then waits
for every request still running before it stops: a request that waits (a
long-poll) must look, or the stop waits for it. uvicorn offers no hook; its
signal handler is a method of the running `Server`, which is how the
server is found (sse-starlette, which ends the event streams, looks there
too). Outside uvicorn, or before it has taken the signals, it is never
stopping.
"""

from __future__ import annotations

import signal


def stopping() -> bool:
    """Whether the server has been told to stop."""
    server = getattr(signal.getsignal(signal.SIGTERM), "__self__", None)
    return bool(getattr(server, "should_exit", False))
