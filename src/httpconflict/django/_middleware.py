"""A Django middleware that only looks at the response, run in the caller's mode.

Django adapts a sync-only middleware to an ASGI stack by running it in a
worker thread and the rest of the stack back on the event loop: two thread
hops per request, which cost an ASGI app about a third of its throughput in
bench/adapters.py. Looking at a finished response touches no database, so
`ResponseMiddleware` does it inline in whichever mode Django calls it
(https://docs.djangoproject.com/en/stable/topics/http/middleware/#asynchronous-support).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponseBase

GetResponse = Callable[[HttpRequest], HttpResponseBase]


class ResponseMiddleware:
    """Calls the rest of the stack, then `after` on its response; sync or async."""

    sync_capable: ClassVar[bool] = True
    async_capable: ClassVar[bool] = True

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response
        self._async = iscoroutinefunction(get_response)
        if self._async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self._async:
            return self._acall(request)
        return self.after(request, self.get_response(request))

    async def _acall(self, request: HttpRequest) -> HttpResponseBase:
        pending: Awaitable[HttpResponseBase] = self.get_response(request)
        return self.after(request, await pending)

    def after(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        """The response to send in place of `response` (override; default: itself)."""
        return response
