"""Deliberate overrides, accepted in the scanned project's pyproject.toml.

Some apps lose a route on purpose: healthchecks puts its own
``admin/login/`` before ``admin.site.urls`` so that Django's admin login
is never served. The finding is true, and a CI that runs the tool stays
red unless the project can say "we meant it", and why::

    [tool.httpconflict.routes.accept]
    "/admin/login/" = "our login view replaces the admin's, on purpose"
    "GET /users/{user_id}" = "the v2 handler, registered first, replaces v1"

Each key names the route that is never served, as the report spells it:
its path as the framework writes it, after one method, several joined by
commas (``GET,POST``), or ``*``; no method (or ``*``) accepts every
method. A finding is accepted when its route has that path and all the
methods it loses are named. Each value is the reason, and is required:
an acceptance nobody can explain is a finding nobody checked. The report
lists accepted findings apart, with their reasons, and they do not fail
the run; an acceptance that matches nothing is noted, since the override
it excused is gone.

The file is the nearest pyproject.toml at or above ``--app-dir``: the
project the app belongs to.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from ._model import ANY, Finding, Methods

#: The one table the tool reads, and the keys it knows in it.
TABLE: Final = ("tool", "httpconflict", "routes")
_KEYS: Final = frozenset({"accept"})
_METHOD: Final = re.compile(r"[A-Z]+")


class SettingsError(ValueError):
    """The routes table of a pyproject.toml is not what the tool reads; says where, in one line."""


@dataclass(frozen=True, slots=True)
class Acceptance:
    """One accepted override: the route's path, the methods it may lose, and why."""

    #: The key as written in the file.
    key: str
    path: str
    #: ANY for every method.
    methods: Methods
    reason: str

    def accepts(self, finding: Finding) -> bool:
        """Whether `finding` is the override this acceptance names."""
        if finding.lost != self.path:
            return False
        if self.methods is ANY:
            return True
        return finding.methods is not ANY and finding.methods <= self.methods


@dataclass(frozen=True, slots=True)
class Settings:
    """What the project's pyproject.toml says: where it is, and its acceptances."""

    file: Path | None = None
    accept: tuple[Acceptance, ...] = ()


def find_pyproject(directory: str | Path) -> Path | None:
    """The nearest pyproject.toml in `directory` or above it."""
    start = Path(directory).resolve()
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def read_settings(directory: str | Path) -> Settings:
    """The settings of the project at or above `directory`; none when it has no table."""
    file = find_pyproject(directory)
    if file is None:
        return Settings()
    try:
        document = tomllib.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise SettingsError(f"{file}: cannot be read: {error}") from None
    table: Any = document
    for name in TABLE:
        table = table.get(name) if isinstance(table, dict) else None
    where = f"{file}: [{'.'.join(TABLE)}]"
    if table is None:
        return Settings(file)
    if not isinstance(table, dict):
        raise SettingsError(f"{where} is not a table")
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise SettingsError(f"{where} has no setting {unknown[0]!r} (it knows: accept)")
    accept = table.get("accept", {})
    if not isinstance(accept, dict):
        raise SettingsError(
            f'{where} accept must be a table of "METHOD /path" = "reason", not {accept!r}'
        )
    return Settings(file, tuple(_acceptance(where, key, value) for key, value in accept.items()))


def _acceptance(where: str, key: str, reason: object) -> Acceptance:
    if not isinstance(reason, str) or not reason.strip():
        raise SettingsError(f"{where} accept {key!r} needs a reason: a non-empty string")
    words = key.split()
    if len(words) == 1:
        words = ["*", *words]
    if len(words) != 2 or not words[1].startswith("/"):
        raise SettingsError(
            f'{where} accept {key!r} is not "METHOD /path" (or "/path" for every method)'
        )
    spelled, path = words
    methods: Methods = ANY
    if spelled != "*":
        names = spelled.split(",")
        if not all(_METHOD.fullmatch(name) for name in names):
            raise SettingsError(
                f"{where} accept {key!r}: methods are upper case, joined by commas, or *"
            )
        methods = frozenset(names)
    return Acceptance(key, path, methods, reason.strip())


def split(
    findings: list[Finding], accept: tuple[Acceptance, ...]
) -> tuple[list[Finding], list[tuple[Finding, Acceptance]], list[Acceptance]]:
    """The findings still open, those accepted (with the acceptance), and acceptances unused."""
    still: list[Finding] = []
    accepted: list[tuple[Finding, Acceptance]] = []
    used: set[str] = set()
    for finding in findings:
        match = next((a for a in accept if a.accepts(finding)), None)
        if match is None:
            still.append(finding)
        else:
            accepted.append((finding, match))
            used.add(match.key)
    return still, accepted, [a for a in accept if a.key not in used]
