"""Why an audit, or one of its checks, stopped early.

::

    Exception
     +-- AuditStopped          a check cannot go on: it is skipped, the audit goes on
     |    +-- BudgetSpent      --max-requests reached
     |    +-- DeadlineReached  --timeout reached
     |    +-- NoAnswer         a request timed out or its connection broke
     |         +-- Unreachable the API refused or dropped the connection
     +-- CannotAudit           the audit cannot start: exit status 3
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .target import CleanupReport


class AuditStopped(Exception):
    """A check had to stop; its verdict is "skipped" with this reason."""


class BudgetSpent(AuditStopped):
    """The request budget (--max-requests) is spent."""


class DeadlineReached(AuditStopped):
    """The time budget (--timeout) is spent."""


class NoAnswer(AuditStopped):
    """A request got no HTTP answer (timeout, broken connection)."""


class Unreachable(NoAnswer):
    """The API could not be connected to at all."""


class CannotAudit(Exception):
    """The audit cannot run against this URL (unreachable, or no resource could be created).

    `cleanup` says what became of what the audit created before it stopped.
    """

    def __init__(self, message: str, cleanup: CleanupReport | None = None) -> None:
        super().__init__(message)
        self.cleanup = cleanup
