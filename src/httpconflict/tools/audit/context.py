"""What the checks share: the target, the audit's own resource, and what was learned of it."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from httpconflict import ETag

from .settings import AuditSettings
from .target import Exchange, Target


@dataclass
class AuditContext:
    """The state one audit's checks build on, in the order they run.

    `item_url` is the resource created at the start, which the ETag and
    precondition checks read and write; the race, the idempotency and the
    uniqueness checks create their own. `etag` is set by the ETag check:
    the header exactly as the API sent it (a careful client echoes it
    back unchanged), and `parsed_etag` when it parses.
    """

    settings: AuditSettings
    target: Target
    run_id: str
    item_url: str
    first_read: Exchange
    etag: str | None = None
    parsed_etag: ETag | None = None
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
