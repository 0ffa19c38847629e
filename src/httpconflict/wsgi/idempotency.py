"""WSGI middleware for Idempotency-Key: the flow of `httpconflict._idempotency`, driven in threads.

It parses the key, reads the body and drives `idempotency_flow` through a
`KeyedRequest`, which decides every store call and reply (the ASGI
middleware shares it; this module only makes them, in the request's
thread): it claims the key, runs the app with its whole answer held back
(the claim renewed meanwhile on the store's loop, however long the app takes),
records the answer, and only then sends it; a retry gets the recorded
answer with ``Idempotent-Replayed: true``, a duplicate in flight 409 with
Retry-After (or the first's answer, if the policy waits), another request
under the key 422. If the app raises, the claim is released and the error
goes on to the server; if it raises after it committed a write, the key
records that it failed after applying part of the request, and the client
gets that answer too (as every retry), the error logged under the incident
id the answer names. When the store fails, a request that has not run is
answered 503 with Retry-After (never 500); one that has run gets its own
answer, and the store write it still owes is deferred: made in the
background on the store's loop (`BlockingIdempotencyStore.defer`) until
the store is back.

A body that ends early (see `_input`) never reaches the app: a keyed
request's is read whole first, and one cut short is answered 400
``incomplete-body`` before any key is claimed; the app reads an unkeyed
request's body itself, through a ``wsgi.input`` that raises the same error
rather than read short (and an app that lets it through gets the same 400).

Under a transactional policy the app records its answer in the
transaction of its side effect, from ``active_claim(environ)`` (as under
ASGI; `httpconflict.sqlalchemy.record_answer`): the middleware claims
nothing, and answers a request that lost the race to record with the
answer recorded first.

The stores are async; `BlockingIdempotencyStore` runs them on one private
event loop in a background thread, which request threads hand each call
to. Waiting for a duplicate sleeps in the request's own thread.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeAlias

from .._errors import (
    ContentTooLarge,
    IncompleteBody,
    InvalidParameter,
    MalformedHeader,
    Unavailable,
    problem_and_fields,
)
from .._form_keys import form_policy, form_submission, reads_form_key
from .._idempotency import (
    Answer,
    Defer,
    Execute,
    IdempotencyReply,
    Renew,
    Sleep,
    parse_idempotency_key,
)
from .._idempotency_policy import IdempotencyPolicy
from .._idempotency_request import (
    CLAIM_KEY,
    Interrupted,
    KeyedRequest,
    KeyStore,
    active_claim,
    log_raised,
    problem_fields,
    raised_after_writing,
    replayed_fields,
)
from .._late_errors import AnswerReplaced
from .._problem_page import PAGES_KEY, answers_page
from .._request_writes import forget_unwatched, watching_writes
from .._wsgi_input import WholeInput, content_length, read_body
from ..storage.idempotency import IdempotencyStore
from ..storage.idempotency.blocking import BlockingIdempotencyStore
from ._answers import (
    Captured,
    StartResponse,
    WSGIApplication,
    WSGIEnvironment,
    header_lines,
    problem_answer,
    run,
    send,
    status_line,
)
from ._pages import problem_pages, varying

__all__ = [
    "IdempotencyMiddleware",
    "PolicyChoice",
    "active_claim",
]

PolicyChoice: TypeAlias = IdempotencyPolicy | Callable[[dict[str, Any]], IdempotencyPolicy | None]


class IdempotencyMiddleware:
    """Idempotency-Key handling for any WSGI app (Flask: wrap ``app.wsgi_app``)."""

    def __init__(
        self,
        app: WSGIApplication,
        *,
        store: IdempotencyStore | BlockingIdempotencyStore,
        policy: PolicyChoice | None = None,
        pages: bool = True,
    ) -> None:
        self.app = app
        #: Whether a request preferring HTML (a browser's form) gets its problem answers as
        #: pages; False for an API whose every error answer must stay problem JSON.
        self.pages = pages
        self.store: BlockingIdempotencyStore = (
            store
            if isinstance(store, BlockingIdempotencyStore)
            else BlockingIdempotencyStore(store)
        )
        self.policy = policy if policy is not None else IdempotencyPolicy()

    def close(self) -> None:
        """Close the store and stop its loop thread (also done at exit)."""
        self.store.close()

    def _policy_for(self, environ: WSGIEnvironment) -> IdempotencyPolicy | None:
        if isinstance(self.policy, IdempotencyPolicy):
            return self.policy
        return self.policy(environ)

    def route_policy(self, method: str, path: str) -> IdempotencyPolicy | None:
        """The policy of a request with `method` to `path` (for `openapi.document_idempotency`).

        A policy function is asked with an environ holding only the method
        and the path, as a request to that route would have them.
        """
        environ: WSGIEnvironment = {
            "REQUEST_METHOD": method,
            "SCRIPT_NAME": "",
            "PATH_INFO": path,
            "QUERY_STRING": "",
        }
        return self._policy_for(environ)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        try:
            return self._served(environ, start_response)
        finally:
            # What it sent unwatched was this request's, not the next one's on this thread.
            forget_unwatched()

    def _served(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if self.pages:
            # For the app's own 500 (Flask's install): the page it gets, or Vary: Accept.
            page = environ[PAGES_KEY] = answers_page(
                environ["REQUEST_METHOD"], header_lines(environ, "HTTP_ACCEPT")
            )
            if page:
                # A browser's form: a refusal it shows is a page, not JSON (`_problem_page`).
                return problem_pages(self._call, environ, start_response)
            # An API client's problem says Vary: Accept, as the browser's page does.
            return self._call(environ, varying(start_response))
        return self._call(environ, start_response)

    def _call(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        policy = self._policy_for(environ)
        if policy is None or not policy.covers(environ["REQUEST_METHOD"]):
            return self.app(environ, start_response)
        try:
            key = parse_idempotency_key(header_lines(environ, "HTTP_IDEMPOTENCY_KEY"))
            content_type = environ.get("CONTENT_TYPE")
            content = None
            if key is None and reads_form_key(policy, content_type, content_length(environ)):
                body = read_body(environ, policy.max_body)
                form = form_submission(content_type, body, policy.form_field or "")
                if form is not None:
                    key, content, policy = form.key, form.content, form_policy(policy)
            elif key is None and not policy.required:
                return self._pass_on(environ, start_response)
            else:
                body = read_body(environ, policy.max_body)
        except (MalformedHeader, InvalidParameter, ContentTooLarge, IncompleteBody) as error:
            # Nothing ran and no key was claimed; a cut body's client is
            # probably gone, but a server must answer something.
            return problem_answer(start_response, error.problem)
        return self._handle(environ, start_response, policy, key, body, content)

    def _pass_on(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Run the app on a request without a key; it reads the body, whole or not at all."""
        length = content_length(environ)
        if length is not None or environ.get("wsgi.input_terminated"):
            environ["wsgi.input"] = WholeInput(environ["wsgi.input"], length)
        try:
            return self.app(environ, start_response)
        except IncompleteBody as error:
            # PEP 3333: an app that already called start_response passes
            # exc_info to call it again (which re-raises if headers went out).
            return problem_answer(start_response, error.problem, exc_info=sys.exc_info())
        except AnswerReplaced as replaced:  # its answer (a browser's gets its page here)
            details, fields = problem_and_fields(replaced.problem)
            return problem_answer(start_response, details, fields, exc_info=sys.exc_info())

    def _handle(
        self,
        environ: WSGIEnvironment,
        start_response: StartResponse,
        policy: IdempotencyPolicy,
        key: str | None,
        body: bytes,
        content: bytes | None = None,
    ) -> Iterable[bytes]:
        method, target = environ["REQUEST_METHOD"], _target(environ)
        try:
            request = KeyedRequest.begin(
                policy, environ, method, target, key, body, now=time.time(), content=content
            )
        except MalformedHeader as error:  # a field its fingerprint reads: nothing claimed
            return problem_answer(start_response, error.problem)
        store: KeyStore[IdempotencyReply] = self.store
        flow = request.flow()
        captured: Captured | None = None
        reply: IdempotencyReply = None
        try:
            while True:
                command = flow.send(reply)
                if isinstance(command, Sleep):
                    time.sleep(command.seconds)  # in this request's thread, not the loop's
                    reply = None
                elif isinstance(command, Execute):
                    if key is not None:
                        environ[CLAIM_KEY] = request  # for an app that records its answer
                    # A slow request keeps its claim: a retry never runs beside it.
                    with (
                        self.store.keeping(
                            lambda keys, now: request.call(Renew(), keys, now), request.renewal()
                        ),
                        watching_writes() as writes,
                    ):
                        # Its error handlers' 500 is recorded: they say part may be applied.
                        writes.records_failures = bool(key) and policy.store_server_errors
                        captured = run(self.app, environ, body)
                    request.applied = writes.committed > 0
                    reply = request.executed(captured)
                elif isinstance(command, Defer):
                    self._defer(request, command)
                    reply = None
                else:
                    try:
                        reply = request.call(command, store, time.time())
                    except Unavailable as error:
                        reply = error  # the flow decides: 503 before the app ran, Defer after
        except StopIteration as stop:
            answer: Answer = stop.value
        return _answer(start_response, answer, captured, body, method, target)

    def _defer(self, request: KeyedRequest, deferred: Defer) -> None:
        def call(store: IdempotencyStore) -> Awaitable[IdempotencyReply]:
            return request.call(deferred.command, store, time.time())

        self.store.defer(call, within=request.deferral(deferred), what=request.describe(deferred))


def _answer(
    start_response: StartResponse,
    answer: Answer,
    captured: Captured | None,
    body: bytes,
    method: str,
    target: str,
) -> Iterable[bytes]:
    if isinstance(answer.error, Interrupted):
        raise answer.error.cause  # its key is recorded or released: it goes on
    if raised_after_writing(answer):
        # The answer its key records, not the server's 500; the error to the log.
        log_raised(answer, method, target.partition("?")[0])
    elif answer.error is not None:
        raise answer.error
    if answer.problem is not None:
        return problem_answer(start_response, answer.problem, problem_fields(answer))
    assert answer.response is not None
    if answer.replayed or answer.error is not None:
        response = answer.response
        fields = replayed_fields(response) if answer.replayed else list(response.headers)
        status = status_line(response.status)
        return send(start_response, status, fields, response.replayed_to(body))
    # The request ran here: it gets the app's own answer, every header in it.
    assert captured is not None
    return send(start_response, captured.status, captured.headers, captured.body)


def _target(environ: WSGIEnvironment) -> str:
    # PEP 3333 hands the path over as latin-1 text; re-read its bytes as
    # UTF-8 so the target is what an ASGI server would have decoded.
    raw: str = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
    path = raw.encode("latin-1").decode("utf-8", "surrogateescape")
    query: str = environ.get("QUERY_STRING", "")
    return path + ("?" + query if query else "")
