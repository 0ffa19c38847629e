"""A keyed write's answer, recorded in the write's own transaction.

Every unsafe request to a document may carry an Idempotency-Key. The
middleware (`httpconflict.asgi.IdempotencyMiddleware`, transactional
policy) looks the key up before the handler runs and replays a recorded
answer; otherwise the handler writes, and the answer it is about to give
is recorded under the key in the same transaction as the write, so there
is never a write without its record, nor a record without its write. A
handler describes its answer as a function of the write's result (a PUT
answers 201 or 200 depending on whether it created), `Answer`, and runs
each store call through `KeyedWrite.run`. An answer that wrote nothing (a
412, a 404) is recorded by the middleware after the handler.

Wherever ``--idempotency`` points, this record is the one that decides: a
key store apart from the documents (Redis) is a replay cache in front of
it, to which the middleware copies the answer once the write committed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from starlette.requests import Request

from .. import IdempotencyKeyTaken, WriteResult
from ..asgi import CLAIM_SCOPE_KEY, ActiveClaim
from ..storage import CompletionFor
from ..storage.idempotency import Completion

#: A handler's answer to a write that succeeded: status, header fields, body.
Answer = Callable[[WriteResult], tuple[int, Mapping[str, str], bytes]]


@dataclass(slots=True)
class KeyedWrite:
    """The key (if any) a write records its answer under."""

    claim: ActiveClaim | None
    #: The answer of the last write made with `completion(...)`, as a function of its result.
    _complete: CompletionFor | None = None

    @classmethod
    def of(cls, request: Request) -> KeyedWrite:
        claim: ActiveClaim | None = request.scope.get(CLAIM_SCOPE_KEY)
        return cls(claim if claim is not None and claim.transactional else None)

    def completion(self, answer: Answer) -> CompletionFor | None:
        """What a store records with a successful write, or None without a key."""
        claim = self.claim
        if claim is None:
            return None

        def complete(result: WriteResult) -> Completion:
            status, headers, body = answer(result)
            return claim.completion(status, headers.items(), body)

        self._complete = complete
        return complete

    async def run(self, write: Awaitable[WriteResult]) -> WriteResult:
        """Await a store write made with `completion(...)`; tell the middleware what it did."""
        try:
            result = await write
        except IdempotencyKeyTaken:
            # A duplicate recorded first; this write was rolled back with the
            # attempt, and the middleware answers with the duplicate's answer.
            if self.claim is not None:
                self.claim.taken = True
            raise
        claim = self.claim
        if result.written and claim is not None:
            claim.completed = True
            if claim.cached and self._complete is not None:
                # The answer as this write recorded it, for the replay cache (a
                # store may have made the answer of another outcome first).
                self._complete(WriteResult(True, created=result.created))
        return result
