"""The API under audit, as the checks see it: every request, its answer, and cleanup.

Theory of operation: `Target.send` is the one place a request leaves.
It asks the `Budget` for a grant (and the timeout to use), sends, turns
transport errors into `NoAnswer`/`Unreachable`, and records an
`Exchange`: the checks read their answers from it, and the problem+json
check reads every error answer of the whole audit from `exchanges`.
`create` POSTs a body, learns the new item's URL (from ``Location``, else
from the ``id`` member of the answer, written the way the collection URL
is: with a trailing slash when it has one, as Django REST framework's
routers want) and remembers it, with two requests reserved for its
cleanup; `cleanup` deletes the remembered items, naming the version a
fresh GET shows in If-Match (the ETag, else the body's version member),
since an API that requires preconditions requires them on DELETE too.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote, unquote, urljoin

import httpx

from . import jsonapi
from .budget import CLEANUP_REQUESTS, Budget
from .errors import AuditStopped, DeadlineReached, NoAnswer, Unreachable
from .exchange import BODY_KEPT, Exchange
from .settings import AuditSettings
from .versions import Version

JSON: Final = "application/json"
MERGE_PATCH: Final = "application/merge-patch+json"


@dataclass(frozen=True, slots=True)
class CleanupReport:
    """What became of the resources the audit created."""

    created: int
    deleted: int
    left: tuple[str, ...]
    kept: bool = False
    #: Resources a POST made whose URL the audit could not learn: they cannot be deleted.
    unlocated: int = 0
    #: POSTs that got no answer: each may have made a resource the audit cannot know of.
    unanswered: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "deleted": self.deleted,
            "left": list(self.left),
            "kept": self.kept,
            "unlocated": self.unlocated,
            "unanswered_posts": self.unanswered,
        }

    def kept_sentence(self) -> str:
        """How many test resources --keep left, and how many the checks deleted."""
        if not self.deleted:
            return f"{self.created} test resources kept (--keep)"
        return (
            f"{self.created - self.deleted} of {self.created} test resources kept (--keep); "
            f"{self.deleted} deleted by the checks"
        )

    def lines(self) -> list[str]:
        """The cleanup in sentences, for the terminal and stderr."""
        if self.kept:
            lines = [self.kept_sentence()]
        else:
            lines = [f"cleanup: {self.deleted} of {self.created} test resources deleted"]
        lines.extend(f"  {'kept' if self.kept else 'left behind'}: {url}" for url in self.left)
        if self.unlocated:
            lines.append(
                f"  left behind: {self.unlocated} resource(s) whose URL the audit could not learn"
            )
        if self.unanswered:
            lines.append(
                f"  maybe left behind: {self.unanswered} POST(s) got no answer, and may have "
                "made a resource"
            )
        return lines


def envelope_of(value: Any, id_field: str) -> str | None:
    """The one member of an answer that holds the resource's `id_field`, when the answer
    itself has none (``{"success": true, "data": {"id": 1}}``: "data"); else None."""
    if not isinstance(value, dict) or id_field in value:
        return None
    holders = [
        name for name, inner in value.items() if isinstance(inner, dict) and id_field in inner
    ]
    return holders[0] if len(holders) == 1 else None


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
        #: Those of `created` a check deleted, and saw gone.
        self.deleted: set[str] = set()
        self.unlocated = 0
        self.unanswered_posts = 0
        #: Where the audit POSTs: the URL given, or where its trailing-slash redirect led.
        self.collection_url = settings.collection_url
        #: The body members that carry the version, once a check has learned them.
        self.version_members: tuple[str, ...] = ()
        #: Whether item URLs end with a slash; None: as the collection URL does.
        self.item_slash: bool | None = None
        #: What the report should know of how the audit found its way (URLs, media types).
        self.notes: list[str] = []
        #: The media type of a PATCH: a merge patch's own, until the API refuses it.
        self.patch_type = MERGE_PATCH
        #: The members every write carries as the resource holds them, besides its changes:
        #: none (a PATCH carries its changes, a PUT the whole state as read), or the --body's
        #: when the API refused a PATCH of the changes alone or a PUT of the state as read.
        self.carried_members: tuple[str, ...] = ()
        #: The member of each answer that holds the resource: --envelope, or the one
        #: the first POST answer kept its --id-field in.
        self.envelope = settings.envelope
        #: A POST answer listing the resource it made was noted once.
        self._listed_noted = False

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
        kind = self.settings.jsonapi_type
        if kind is not None:
            # JSON:API has one media type for requests and answers (PATCH included).
            fields.setdefault("Accept", jsonapi.MEDIA_TYPE)
            content_type = jsonapi.MEDIA_TYPE
        if body is not None:
            if kind is not None:
                item = None if url == self.collection_url else self._item_id(url)
                body = jsonapi.document(body, kind, item, self.settings.id_field)
            elif self.settings.wrap_requests:
                body = {self.envelope: body}
            content = json.dumps(body).encode()
        if content is not None:
            fields["Content-Type"] = content_type
        try:
            response, kept = await self._fetch(method, url, content, fields, timeout)
        except httpx.ConnectError as error:
            raise Unreachable(f"{method} {url}: cannot connect ({error})") from error
        except httpx.TimeoutException as error:
            # A POST that was sent and then timed out may have made a resource.
            self.unanswered_posts += self._creates(method, url) and not isinstance(
                error, httpx.ConnectTimeout
            )
            if timeout < self.budget.request_timeout:
                # The deadline, not the API, cut this request short.
                raise DeadlineReached(
                    f"the time budget (--timeout) ran out during {method} {url}"
                ) from error
            raise NoAnswer(f"{method} {url}: no answer within {timeout:.1f} s") from error
        except httpx.TransportError as error:
            self.unanswered_posts += self._creates(method, url)
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
            body=bytes(kept[:BODY_KEPT]),
            truncated=len(kept) > BODY_KEPT,
            envelope=self.envelope,
            jsonapi_id=None if kind is None else self.settings.id_field,
        )
        self.exchanges.append(exchange)
        return exchange

    async def _fetch(
        self, method: str, url: str, content: bytes | None, fields: dict[str, str], seconds: float
    ) -> tuple[httpx.Response, bytearray]:
        """The answer and at most BODY_KEPT + 1 bytes of its body, all within `seconds`.

        A hostile or broken server may send a body that never ends, or a
        small one that decodes to gigabytes: the rest is never read (the
        connection is closed), and a body still coming after `seconds` is
        no answer, as a silent server is.
        """
        try:
            async with (
                asyncio.timeout(seconds),
                self.client.stream(
                    method, url, content=content, headers=fields, timeout=seconds
                ) as response,
            ):
                kept = bytearray()
                async for chunk in response.aiter_bytes():
                    kept += chunk
                    if len(kept) > BODY_KEPT:
                        break
        except TimeoutError as error:
            raise httpx.ReadTimeout(f"the answer did not end within {seconds:.1f} s") from error
        return response, kept

    async def create(
        self, check: str, body: Mapping[str, Any], headers: Mapping[str, str] | None = None
    ) -> tuple[Exchange, str | None]:
        """POST `body` to the collection; the answer and the new item's URL, if one was made."""
        self.budget.reserve(CLEANUP_REQUESTS)
        try:
            answer = await self.send(check, "POST", self.collection_url, body=body, headers=headers)
        except BaseException:
            self.budget.release(CLEANUP_REQUESTS)
            raise
        url = self.item_url(answer) if answer.ok else None
        if url is None or url in self.created:
            self.budget.release(CLEANUP_REQUESTS)
            self.unlocated += answer.ok and url is None
        else:
            self.created.append(url)
        return answer, url

    def item_url(self, answer: Exchange) -> str | None:
        """Where the POST answer says the new item is: Location, else the id member."""
        location = answer.header("location")
        if location:
            return urljoin(self.collection_url, location)
        document = answer.document()
        item_id = document.get(self.settings.id_field) if document else None
        listed = answer.json()
        if (
            document is None
            and isinstance(listed, list)
            and len(listed) == 1
            and isinstance(listed[0], dict)
        ):
            # A list of the one resource made (PiccoloCRUD answers [{"id": 1}]).
            item_id = listed[0].get(self.settings.id_field)
            if item_id is not None and not self._listed_noted:
                self._listed_noted = True
                self.notes.append(
                    f"POST answers a list of the one resource it made: the audit read its "
                    f"{self.settings.id_field!r} there"
                )
        if item_id is None and self.envelope is None:
            found = envelope_of(answer.json(), self.settings.id_field)
            if found is not None:
                self.envelope = found
                self.notes.append(
                    f"POST answers keep the resource in their {found!r} member: the audit "
                    f"read every answer there (--envelope {found})"
                )
                item_id = answer.json()[found][self.settings.id_field]
        if isinstance(item_id, str | int) and not isinstance(item_id, bool):
            base = self.collection_url.rstrip("/")
            slash = self.item_slash
            if slash is None:
                slash = self.collection_url.endswith("/")
            return f"{base}/{quote(str(item_id), safe='')}{'/' if slash else ''}"
        return None

    def _item_id(self, url: str) -> str:
        """The id an item URL names: its last segment (the audit builds item URLs so)."""
        return unquote(httpx.URL(url).path.rstrip("/").rsplit("/", 1)[-1])

    def forget(self, url: str) -> None:
        """The item is not at `url` after all: where it is cannot be known."""
        self.created.remove(url)
        self.budget.release(CLEANUP_REQUESTS)
        self.unlocated += 1

    def _creates(self, method: str, url: str) -> int:
        """1 for a POST to the collection, which may have made a resource; else 0."""
        return int(method == "POST" and url == self.collection_url)

    def relocate(self, url: str, moved: str) -> None:
        """The item at `url` is really at `moved`; item URLs end as `moved` does from now on."""
        self.created = [moved if u == url else u for u in self.created]
        self.item_slash = moved.endswith("/")

    async def write(
        self,
        check: str,
        url: str,
        body: Mapping[str, Any],
        headers: Mapping[str, str] | None = None,
    ) -> Exchange:
        """Change `url`: PUT (or POST) `body` as the whole new state, or PATCH it as a merge
        patch.

        A merge patch goes as application/merge-patch+json (RFC 7396); an API
        that answers 415 to that (Django REST framework, FastAPI) gets it as
        application/json from then on, which the report notes.
        """
        method = self.settings.write_method
        if method != "PATCH":
            return await self.send(check, method, url, body=dict(body), headers=headers)
        kind = self.patch_type
        answer = await self.send(
            check, "PATCH", url, body=dict(body), content_type=kind, headers=headers
        )
        if answer.status == 415 and kind == MERGE_PATCH and self.patch_type == MERGE_PATCH:
            self.patch_type = JSON
            self.notes.append(
                f"PATCH with {MERGE_PATCH} -> 415, so the audit sent its patches as {JSON}"
            )
            return await self.write(check, url, body, headers)
        return answer

    async def cleanup(self) -> CleanupReport:
        """Delete what the audit created, as far as the reserved budget and the API allow."""
        unlocated, unanswered = self.unlocated, self.unanswered_posts
        if self.settings.keep:
            self.budget.release(self.budget.reserved)
            made = len(self.created) + unlocated
            kept = tuple(url for url in self.created if url not in self.deleted)
            deleted = len(self.created) - len(kept)
            return CleanupReport(made, deleted, kept, True, unlocated, unanswered)
        left: list[str] = []
        for url in self.created:
            try:
                gone = await self._delete(url)
            except AuditStopped:
                gone = False
            if not gone:
                left.append(url)
        self.budget.release(self.budget.reserved)
        return CleanupReport(
            len(self.created) + unlocated,
            len(self.created) - len(left),
            tuple(left),
            unlocated=unlocated,
            unanswered=unanswered,
        )

    async def _delete(self, url: str) -> bool:
        try:
            current: Exchange | None = await self.send("cleanup", "GET", url, cleanup=True)
        except NoAnswer:
            # Its read came too late (a slow server): the DELETE is sent all the same, naming
            # no version; an API that requires one refuses it, and says so.
            current = None
        if current is not None and current.status in (404, 410):
            self.budget.release(1)
            return True
        version = None if current is None else Version.of(current, self.version_members).if_match()
        headers = {"If-Match": version} if version else None
        answer = await self.send("cleanup", "DELETE", url, headers=headers, cleanup=True)
        return answer.ok or answer.status in (404, 410)
