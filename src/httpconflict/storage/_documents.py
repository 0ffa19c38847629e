"""The versioned document store: records and the protocol every backend implements.

A document is a JSON object stored as the exact text received, under a
collection and an id, with a strong entity-tag derived from that text.
Each change (create, replace, delete) gets the next version number of its
document and is kept in the document's history, of which the newest
`history` versions survive. A deleted document keeps its row as a
tombstone (no body, no entity-tag), so version numbers never repeat,
until `purge_tombstones` removes tombstones past their retention. A
purging delete (`delete(..., purge=True)`, `erase`) deletes the history
too: a document with no history kept reads as one never created. The
current row also keeps when the version it replaced was made, which tells
whether its Last-Modified second names it alone (RFC 9110 §8.8.2.2).

Backends implement primitives only: `put` and `delete` write if a `Guard`
holds, checked in the same statement as the write, and otherwise report the
current validators. What a refusal means is decided by the core
(`httpconflict.write_flow`).

A collection may declare unique keys (`declare_unique`): each is a unique
index, so a write that would give a key a value another document holds is
refused by the database itself, as `ConstraintViolated` (see `_unique`).
It may also have access rules of its own (`access_rules`, see `_access`),
kept as their JSON text.

Every write also appends a change (seq, collection, id, version, entity-tag)
to the change feed in its own transaction (see `_changes`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final, NamedTuple, Protocol, TypeAlias

from .._access import AccessRules
from .._etag import ETag
from .._preconditions import Validators
from .._write import Guard, WriteResult
from ._changes import ChangeBounds, ChangeFeed, ChangesRead
from ._unique import UniqueKey

if TYPE_CHECKING:
    from .._idempotency import Completion
    from .idempotency import IdempotencyStore
    from .tokens import TokenStore

DEFAULT_HISTORY: Final = 100

#: The answer to record with a write, made of its result (201 or 200...).
CompletionFor: TypeAlias = "Callable[[WriteResult], Completion]"


@dataclass(frozen=True, slots=True)
class CollectionSettings:
    """A collection's settings as a whole: unique keys, own access rules, purging deletes."""

    unique: tuple[UniqueKey, ...] = ()
    access: AccessRules | None = None
    purge_on_delete: bool = False


@dataclass(frozen=True, slots=True)
class Document:
    """The current state of one document."""

    collection: str
    id: str
    version: int
    etag: str
    #: The document's JSON text: the exact bytes received (UTF-8).
    body: bytes
    modified_us: int
    #: When the version this one replaced was made (None: it replaced none).
    previous_us: int | None = None

    @property
    def modified(self) -> datetime:
        return from_micros(self.modified_us)

    @property
    def validators(self) -> Validators:
        return _validators(self.etag, self.modified_us, self.previous_us)


@dataclass(frozen=True, slots=True)
class Version:
    """One entry of a document's history; `etag` and `body` are None for a deletion."""

    version: int
    etag: str | None
    body: bytes | None
    modified_us: int

    @property
    def modified(self) -> datetime:
        return from_micros(self.modified_us)


class Listed(NamedTuple):
    """A document on a page of its collection, read before its body: which version it is."""

    id: str
    etag: str
    modified_us: int


class ListedVersion(NamedTuple):
    """An entry on a page of a document's history, read before its body; `etag` None: a deletion."""

    version: int
    etag: str | None
    modified_us: int


class DocumentStore(Protocol):
    """What the service needs from a database."""

    history: int

    async def open(self) -> None:
        """Connect and create the schema if it is missing."""

    async def close(self) -> None: ...

    async def get(self, collection: str, id: str) -> Document | None:
        """The current document, or None if absent or deleted."""

    async def validators(self, collection: str, id: str) -> Validators | None:
        """The current validators, or None if absent or deleted."""

    async def put(
        self,
        collection: str,
        id: str,
        body: bytes,
        etag: str,
        guard: Guard,
        now_us: int,
        *,
        completion: CompletionFor | None = None,
    ) -> WriteResult:
        """Store `body` if `guard` holds, checked atomically with the write.

        Refuses (written=False) a write that would store the entity-tag
        already current, so a no-op leaves no new version. On success,
        `current` holds the new validators; on refusal, the current ones.
        With `completion`, the answer it makes of the write's result is
        recorded under its idempotency key in the same transaction; if the
        key already holds a live record, nothing is written and
        `IdempotencyKeyTaken` is raised. A body that would
        duplicate a value of one of the collection's unique keys is refused
        by its index: nothing is written (nor the completion) and
        `ConstraintViolated` names the key's fields.
        """

    def idempotency_store(self) -> IdempotencyStore:
        """An idempotency-key store in the same database, sharing the connection."""

    def token_store(self) -> TokenStore:
        """The API tokens of the same database, sharing the connection."""

    async def delete(
        self,
        collection: str,
        id: str,
        guard: Guard,
        now_us: int,
        *,
        completion: CompletionFor | None = None,
        purge: bool = False,
    ) -> WriteResult:
        """Delete if `guard` holds, checked atomically with the write (`completion`: as `put`).

        `purge`: the document's whole history goes in the same transaction,
        the deletion's own entry included; the tombstone alone is left, so
        that version numbers still never repeat.
        """

    async def erase(self, collection: str, id: str) -> bool:
        """Delete the history of a deleted document; False if none was kept or it is not deleted.

        One statement: a document re-created meanwhile keeps its history.
        """

    async def purge_tombstones(self, *, deleted_before_us: int, limit: int) -> int:
        """Remove up to `limit` documents deleted before `deleted_before_us`, and their history.

        How many were removed; fewer than `limit` means none is left. Safe
        to run from several processes at once: each row goes once, and a
        document re-created meanwhile stays. A document re-created after its
        tombstone went starts again at version 1.
        """

    async def page_members(self, collection: str, *, after: str | None, limit: int) -> list[Listed]:
        """Current documents in id order, those greater than `after` (bodies unread).

        A page's members, whose documents `documents` then reads in batches;
        their entity-tags and times make the page's validator.
        """

    async def documents(
        self, collection: str, ids: Sequence[str], *, max_bytes: int
    ) -> list[Document]:
        """The current documents among `ids` (ascending), in that order, from the first.

        Stops after the document whose body brings the total to `max_bytes`
        or more (so at least one is read, whatever its size): a caller reads
        a long list in batches of bounded size, continuing after the last
        document returned. Ids absent or deleted by now are skipped.
        """

    async def version_members(
        self, collection: str, id: str, *, before: int | None, limit: int
    ) -> list[ListedVersion] | None:
        """Kept versions, newest first, below `before` (bodies unread); None if never created.

        A page of the history, whose versions `versions_numbered` then reads
        in batches.
        """

    async def versions_numbered(
        self, collection: str, id: str, numbers: Sequence[int], *, max_bytes: int
    ) -> list[Version]:
        """The kept versions among `numbers` (descending), as `documents` reads documents."""

    async def version_body(self, collection: str, id: str, etag: str) -> bytes | None:
        """The body of the kept version whose entity-tag is `etag`, or None.

        The base a stale write was made from, for merging it with what was
        written since; None when no kept version has that tag (never, or
        older than the `history` kept).
        """

    async def ping(self) -> None:
        """Raise if the database cannot be reached."""

    async def database_id(self) -> str:
        """A name of this database that no other database has (opening it first if need be).

        What keeps the answers of several databases apart in one replay cache:
        a key sent to a service on another database (or on this one's file
        deleted and made again) must not be replayed from the first's answer.
        Raises `Unavailable` while the database does not answer.
        """

    async def declare_unique(
        self, collection: str, keys: Sequence[UniqueKey]
    ) -> tuple[UniqueKey, ...]:
        """Make `keys` the collection's whole set of unique keys, in one transaction.

        Creates the index of each new key and drops those of keys left out.
        If stored documents already share a value of a new key, nothing
        changes and `ConstraintViolated` names that key's fields. Invalid
        keys raise `InvalidDocument`. Returns the declaration now in force.
        """

    async def unique_keys(self, collection: str) -> tuple[UniqueKey, ...]:
        """The collection's unique keys, in declared order (none: empty)."""

    async def purges_on_delete(self, collection: str) -> bool:
        """Whether every delete in the collection purges the document's history."""

    async def set_purge_on_delete(self, collection: str, purge: bool) -> None:
        """Make every delete in the collection purge (True), or only those asked to."""

    async def access_rules(self, collection: str) -> AccessRules | None:
        """The collection's own access rules, or None when it has none."""

    async def set_access_rules(self, collection: str, rules: AccessRules | None) -> None:
        """Make `rules` the collection's own access rules (None: it has none)."""

    async def collection_settings(self, collection: str) -> CollectionSettings:
        """The collection's unique keys, access rules and purge setting, read at once."""

    async def replace_settings(
        self,
        collection: str,
        settings: CollectionSettings,
        *,
        check: Callable[[CollectionSettings], None] | None = None,
    ) -> CollectionSettings:
        """Make `settings` the collection's settings as a whole, in one transaction.

        `check` is called first with the settings in force, under the lock
        every replacement holds to its end: what it raises refuses the
        replacement and nothing changes (a precondition that no other
        replacement can come between). Otherwise as `declare_unique`,
        `set_access_rules` and `set_purge_on_delete` in one; returns the
        settings now in force.
        """

    def notify_writes(self, listener: Callable[[], None]) -> None:
        """Call `listener` after each write this store object commits (a feed wakes at once)."""

    def change_feed(self) -> ChangeFeed:
        """A new reader of the whole database's changes, from the newest on (see `_changes`)."""

    async def change_bounds(self) -> ChangeBounds:
        """The horizon (the oldest `since` still whole) and the largest seq committed."""

    async def read_changes(
        self, collection: str, *, after: int, upto: int, id: str | None = None, limit: int
    ) -> ChangesRead:
        """The collection's changes with after < seq <= upto (only `id`'s if given), in seq order.

        At most `limit`; with the horizon read in the same snapshot (the rows
        are whole only if it is at most `after`). Final only for `upto` at or
        below a feed's watermark.
        """

    async def purge_changes(self, *, before_us: int, limit: int) -> int:
        """Delete up to `limit` of the oldest changes made before `before_us`; how many.

        Only a prefix in seq order goes, and the horizon rises to its end.
        """


class WriteListeners:
    """The listeners `DocumentStore.notify_writes` registers, called after each write."""

    def __init__(self) -> None:
        self._write_listeners: list[Callable[[], None]] = []

    def notify_writes(self, listener: Callable[[], None]) -> None:
        self._write_listeners.append(listener)

    def _written(self, result: WriteResult) -> WriteResult:
        """`result`, once every listener was told if it is a write."""
        if result.written:
            for listener in self._write_listeners:
                listener()
        return result


def check_put_guard(guard: Guard) -> None:
    if guard.etags is not None and guard.exists is not True:
        raise ValueError("a guard naming entity-tags implies that the document exists")


def check_delete_guard(guard: Guard) -> None:
    check_put_guard(guard)
    if guard.exists is False:
        raise ValueError("deleting requires a document that exists")


def from_micros(micros: int) -> datetime:
    return datetime.fromtimestamp(micros / 1_000_000, tz=UTC)


def validators(etag: str | None, modified_us: int, previous_us: int | None) -> Validators | None:
    """Validators of a stored row; None for a tombstone (etag NULL)."""
    return None if etag is None else _validators(etag, modified_us, previous_us)


def written(etag: str, modified_us: int, previous_us: int | None) -> Validators:
    """Validators of a row just written (not cached: each write is new)."""
    return Validators(ETag(etag), from_micros(modified_us), _alone(modified_us, previous_us))


def _alone(modified_us: int, previous_us: int | None) -> bool:
    """Whether a version is the only change made in its second (RFC 9110 §8.8.2.2)."""
    return previous_us is None or previous_us // 1_000_000 < modified_us // 1_000_000


# Validators are immutable and hot documents are read again and again:
# building them once saves a regex check and a datetime per conditional read.
@functools.lru_cache(maxsize=4096)
def _validators(etag: str, modified_us: int, previous_us: int | None) -> Validators:
    return Validators(ETag(etag), from_micros(modified_us), _alone(modified_us, previous_us))
