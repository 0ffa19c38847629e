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
    """The audit cannot run against this URL (unreachable, or no resource could be created)."""
