"""What the checks share: the target, the audit's own resource, and what was learned of it."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from httpconflict import ETag

from . import versions
from .exchange import Exchange
from .race_tally import count_of, counted
from .settings import AuditSettings
from .target import Target
from .versions import Version

#: The member a write changes when the resource has no counter.
NOTE: Final = "audit_note"


@dataclass
class AuditContext:
    """The state one audit's checks build on, in the order they run.

    `item_url` is the resource created at the start, which the ETag and
    precondition checks read and write; the race, the idempotency and the
    uniqueness checks create their own. `etag` is set by the ETag check:
    the header exactly as the API sent it (a careful client echoes it
    back unchanged), and `parsed_etag` when it parses. The if-match check
    learns which body members carry the version (kept on the target,
    whose cleanup names them too) and whether the API answers 2xx to a
    stale write whose body equals the current state (`shortcut`, the
    evidence), and whether the audit may write at all (`writes_allowed`).
    """

    settings: AuditSettings
    target: Target
    run_id: str
    item_url: str
    first_read: Exchange
    etag: str | None = None
    parsed_etag: ETag | None = None
    shortcut: str | None = None
    #: Whether a write of the audit's (the if-match check's first) succeeded: then a
    #: 401 or 403 to another write refuses that write, not the audit's credentials.
    writes_allowed: bool = False
    #: Whether the if-match check's stale write, sent alone, was refused (409/412): lost
    #: updates in the race then mean the version is checked apart from the write.
    stale_refused: bool = False
    _serial: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def uid(self) -> str:
        """A token no other resource of any audit run has (the run id, then a serial)."""
        return f"{self.run_id}-{next(self._serial)}"

    def new_body(self) -> dict[str, Any]:
        """A fresh body from the template."""
        return self.settings.render_body(self.uid())

    @property
    def offers_etags(self) -> bool:
        """Whether a careful client would send If-Match to this API."""
        return self.etag is not None

    @property
    def version_members(self) -> tuple[str, ...]:
        """The body members that carry the version (``_rev``, ``version``), once learned."""
        return self.target.version_members

    @property
    def careful(self) -> bool:
        """Whether a client can name the version it read at all (header or body)."""
        return self.offers_etags or bool(self.version_members)

    def version(self, read: Exchange) -> Version:
        """The version a GET answer shows."""
        return Version.of(read, self.version_members)

    def edit(self, current: Mapping[str, Any]) -> dict[str, Any]:
        """A change to `current` that makes it differ: the counter plus one, else a note.

        The counter is a member the API is known to keep when it is there;
        a note may be dropped by an API with a fixed schema.
        """
        value = current.get(self.settings.counter)
        count = count_of(value)
        if count is not None:
            return {self.settings.counter: counted(value, count + 1)}
        return {NOTE: f"audit {self.uid()}"}

    def body(
        self, current: Mapping[str, Any], changes: Mapping[str, Any], version: Version | None
    ) -> dict[str, Any]:
        """The body of a write that names `version` (None: a blind write)."""
        return versions.body(
            self.settings.write_method,
            current,
            changes,
            version,
            self.version_members,
            self.target.carried_members,
        )

    def headers(self, version: Version | None) -> dict[str, str]:
        """The headers of a write that names `version` (None: a blind write)."""
        if version is None:
            return {}
        return versions.careful_headers(version, etag=self.offers_etags)
