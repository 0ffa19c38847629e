"""How a token row is written and read, the same in SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Final

from . import ApiToken

#: The columns `to_token` reads, in order.
COLUMNS: Final = "name, roles, created, hint, revoked"


def roles_json(roles: Sequence[str]) -> str:
    return json.dumps(list(roles))


def to_token(row: Sequence[Any]) -> ApiToken:
    name, roles, created, hint, revoked = row
    return ApiToken(
        name=name,
        roles=tuple(json.loads(roles)),
        created=float(created),
        hint=hint,
        revoked=None if revoked is None else float(revoked),
    )
