"""Browser tabs that autosave a document, three ways.

A tab holds its copy of one document and, after each burst of user edits,
saves the edits made since its last save:

- `BlindPut`: PUT of its whole copy, no precondition: the naive autosave of
  the case study. A tab never learns what other tabs wrote, so its copy
  carries their fields as it first read them.
- `IfMatchPut`: PUT of its whole copy with If-Match. A 412 is shown to the
  user ("this document changed"): the tab reloads, the user's unsaved edits
  are put back on top, and the save is sent again.
- `MergePatch`: httpconflict's client sends only the edits, as a JSON Merge
  Patch with the ETag the tab last saw. The service merges edits of other
  fields; a 409 merge-conflict (another tab changed the same field since)
  is shown to the user, who keeps their value: the tab reloads and sends
  the edits again.

Each counts its requests and the conflicts a user had to see.
"""

from __future__ import annotations

import abc
import json
from dataclasses import dataclass, field
from typing import Any, Final

import httpx

from httpconflict.httpx import AsyncConflictClient

MERGE_PATCH: Final = {"content-type": "application/merge-patch+json", "prefer": "rebase"}
#: A save that keeps meeting conflicts gives up after this many tries.
MAX_TRIES: Final = 100


@dataclass(slots=True)
class Tally:
    """What one mode's tabs did: requests, conflicts shown, saves acknowledged."""

    requests: int = 0
    conflicts: int = 0
    #: (tab, document URL, edits, ETag of the stored version) per acknowledged save.
    acknowledged: list[tuple[int, str, dict[str, str], str]] = field(default_factory=list)

    async def count(self, request: httpx.Request) -> None:
        self.requests += 1


class Tab(abc.ABC):
    """One tab on one document; `send` is what differs between the modes."""

    def __init__(self, number: int, url: str, http: httpx.AsyncClient, tally: Tally) -> None:
        self.number = number
        self.url = url
        self.http = http
        self.tally = tally
        self.copy: dict[str, Any] = {}
        self.etag = ""

    async def open(self) -> None:
        """Read the document, as the page does when it loads."""
        answer = await self.http.get(self.url)
        answer.raise_for_status()
        self.copy, self.etag = answer.json(), answer.headers["etag"]

    async def edit_and_save(self, edits: dict[str, str]) -> None:
        """The user's edits go into the tab's copy, then the autosave fires."""
        self.copy.update(edits)
        for _ in range(MAX_TRIES):
            answer = await self.send(edits)
            if answer.is_success:
                self.etag = answer.headers["etag"]
                self.tally.acknowledged.append((self.number, self.url, edits, self.etag))
                return
            if not self.shown_to_user(answer):
                answer.raise_for_status()
            self.tally.conflicts += 1
            await self.open()  # the user reloads
            self.copy.update(edits)  # and keeps their own edits
        raise RuntimeError(f"tab {self.number}: {MAX_TRIES} conflicts in a row")

    @abc.abstractmethod
    async def send(self, edits: dict[str, str]) -> httpx.Response:
        """Send one save of the tab's edits (and copy); the service's answer."""

    def shown_to_user(self, answer: httpx.Response) -> bool:
        """Whether a refusal is a conflict the user sees (and resolves)."""
        return False


class BlindPut(Tab):
    async def send(self, edits: dict[str, str]) -> httpx.Response:
        return await self.http.put(self.url, json=self.copy)


class IfMatchPut(Tab):
    async def send(self, edits: dict[str, str]) -> httpx.Response:
        return await self.http.put(self.url, json=self.copy, headers={"If-Match": self.etag})

    def shown_to_user(self, answer: httpx.Response) -> bool:
        return answer.status_code == 412


class MergePatch(Tab):
    """Sends the edits through httpconflict's client, whose ETag memory is this tab's."""

    def __init__(self, number: int, url: str, http: httpx.AsyncClient, tally: Tally) -> None:
        super().__init__(number, url, http, tally)
        self.client = AsyncConflictClient(http)

    async def open(self) -> None:
        answer = await self.client.get(self.url)  # the client remembers the ETag
        answer.raise_for_status()
        self.copy, self.etag = answer.json(), answer.headers["etag"]

    async def send(self, edits: dict[str, str]) -> httpx.Response:
        answer = await self.client.patch(self.url, content=json.dumps(edits), headers=MERGE_PATCH)
        if answer.is_success:
            self.copy = answer.json()  # the merged document: other tabs' edits included
        return answer

    def shown_to_user(self, answer: httpx.Response) -> bool:
        # 409 merge-conflict: the same field changed here and in another tab;
        # 412: the version this tab had is no longer in the history.
        return answer.status_code in (409, 412)


MODES: Final[dict[str, type[Tab]]] = {
    "blind PUT": BlindPut,
    "If-Match PUT": IfMatchPut,
    "merge PATCH (httpconflict client)": MergePatch,
}
