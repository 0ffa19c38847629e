"""The API under audit, as the checks see it: every request, its answer, and cleanup.

Theory of operation: `Target.send` is the one place a request leaves.
It asks the `Budget` for a grant (and the timeout to use), sends, turns
transport errors into `NoAnswer`/`Unreachable`, and records an
`Exchange`: the checks read their answers from it, and the problem+json
check reads every error answer of the whole audit from `exchanges`.
`create` POSTs a body, learns the new item's URL (from ``Location``, else
from the ``id`` member of the answer) and remembers it, with two requests
reserved for its cleanup; `cleanup` deletes the remembered items,
with If-Match from a fresh GET when the item has an ETag, since an API
that requires preconditions requires them on DELETE too.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote, urljoin

import httpx

from httpconflict import parse_media_type

from .budget import CLEANUP_REQUESTS, Budget
from .errors import AuditStopped, DeadlineReached, NoAnswer, Unreachable
from .settings import AuditSettings

JSON: Final = "application/json"
MERGE_PATCH: Final = "application/merge-patch+json"
#: Bytes of each answer body kept for the report and the problem+json check.
BODY_KEPT: Final = 64 * 1024
_NOT_JSON: Final = object()


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request the audit sent and the answer it got."""

    check: str
    method: str
    url: str
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> str | None:
        """The first value of header `name` (case-insensitive), or None."""
        name = name.lower()
        return next((value for key, value in self.headers if key == name), None)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def media_type(self) -> str | None:
        """The answer's ``type/subtype``, lower-cased, or None without Content-Type."""
        value = self.header("content-type")
        return parse_media_type(value)[0] if value else None

    def json(self) -> Any:
        """The body as JSON, or None when it is empty or not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def document(self) -> dict[str, Any] | None:
        """The body when it is a JSON object."""
        value = self.json()
        return value if isinstance(value, dict) else None

    def summary(self) -> str:
        """``PUT /v1/notes/1 -> 200``, for evidence."""
        path = httpx.URL(self.url).raw_path.decode("ascii", "replace")
        return f"{self.method} {path} -> {self.status}"


@dataclass(frozen=True, slots=True)
class CleanupReport:
    """What became of the resources the audit created."""

    created: int
    deleted: int
    left: tuple[str, ...]
    kept: bool = False


class Target:
    """The collection under audit, reached through one HTTP client and one budget."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        settings: AuditSettings,
        budget: Budget,
        on_request: Callable[[], None] | None = None,
    ) -> None:
        self.client = client
        self.settings = settings
        self.budget = budget
        self.on_request = on_request
        self.exchanges: list[Exchange] = []
        self.created: list[str] = []

    async def send(
        self,
        check: str,
        method: str,
        url: str,
        *,
        body: Any = None,
        content: bytes | None = None,
        content_type: str = JSON,
        headers: Mapping[str, str] | None = None,
        cleanup: bool = False,
    ) -> Exchange:
        """Send one request within the budget and record the exchange."""
        timeout = self.budget.spend_reserved() if cleanup else self.budget.spend()
        fields = dict(headers or {})
        if body is not None:
            content = json.dumps(body).encode()
        if content is not None:
            fields["Content-Type"] = content_type
        try:
            response = await self.client.request(
                method, url, content=content, headers=fields, timeout=timeout
            )
        except httpx.ConnectError as error:
            raise Unreachable(f"{method} {url}: cannot connect ({error})") from error
        except httpx.TimeoutException as error:
            if timeout < self.budget.request_timeout:
                # The deadline, not the API, cut this request short.
                raise DeadlineReached(
                    f"the time budget (--timeout) ran out during {method} {url}"
                ) from error
            raise NoAnswer(f"{method} {url}: no answer within {timeout:.1f} s") from error
        except httpx.TransportError as error:
            raise NoAnswer(f"{method} {url}: {type(error).__name__} {error}") from error
        finally:
            if self.on_request is not None:
                self.on_request()
        exchange = Exchange(
            check=check,
            method=method,
            url=url,
            status=response.status_code,
            headers=tuple((k.lower(), v) for k, v in response.headers.multi_items()),
            body=response.content[:BODY_KEPT],
        )
        self.exchanges.append(exchange)
        return exchange

    async def create(
        self, check: str, body: Mapping[str, Any], headers: Mapping[str, str] | None = None
    ) -> tuple[Exchange, str | None]:
        """POST `body` to the collection; the answer and the new item's URL, if one was made."""
        self.budget.reserve(CLEANUP_REQUESTS)
        try:
            answer = await self.send(
                check, "POST", self.settings.collection_url, body=body, headers=headers
            )
        except BaseException:
            self.budget.release(CLEANUP_REQUESTS)
            raise
        url = self.item_url(answer) if answer.ok else None
        if url is None or url in self.created:
            self.budget.release(CLEANUP_REQUESTS)
        else:
            self.created.append(url)
        return answer, url

    def item_url(self, answer: Exchange) -> str | None:
        """Where the POST answer says the new item is: Location, else the id member."""
        location = answer.header("location")
        if location:
            return urljoin(self.settings.collection_url, location)
        document = answer.document()
        item_id = document.get(self.settings.id_field) if document else None
        if isinstance(item_id, str | int) and not isinstance(item_id, bool):
            base = self.settings.collection_url.rstrip("/")
            return f"{base}/{quote(str(item_id), safe='')}"
        return None

    async def write(
        self,
        check: str,
        url: str,
        current: Mapping[str, Any],
        changes: Mapping[str, Any],
        headers: Mapping[str, str] | None = None,
    ) -> Exchange:
        """Change `url`: PUT the whole new state, or PATCH the changes as a merge patch."""
        if self.settings.write_method == "PATCH":
            return await self.send(
                check, "PATCH", url, body=dict(changes), content_type=MERGE_PATCH, headers=headers
            )
        return await self.send(check, "PUT", url, body={**current, **changes}, headers=headers)

    async def cleanup(self) -> CleanupReport:
        """Delete what the audit created, as far as the reserved budget and the API allow."""
        if self.settings.keep:
            self.budget.release(self.budget.reserved)
            return CleanupReport(len(self.created), 0, tuple(self.created), kept=True)
        left: list[str] = []
        for url in self.created:
            try:
                gone = await self._delete(url)
            except AuditStopped:
                gone = False
            if not gone:
                left.append(url)
        self.budget.release(self.budget.reserved)
        return CleanupReport(len(self.created), len(self.created) - len(left), tuple(left))

    async def _delete(self, url: str) -> bool:
        current = await self.send("cleanup", "GET", url, cleanup=True)
        if current.status in (404, 410):
            self.budget.release(1)
            return True
        etag = current.header("etag")
        headers = {"If-Match": etag} if etag else None
        answer = await self.send("cleanup", "DELETE", url, headers=headers, cleanup=True)
        return answer.ok or answer.status in (404, 410)
