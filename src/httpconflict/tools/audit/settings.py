"""What the audit is told: the collection, the body to create, the bounds.

The body is a template: every ``{uid}`` in its strings becomes a token
unique to the resource being created, so test resources never collide by
accident. Fields the user declares unique (``--unique email``) get such a
token even when the template does not ask for one; the uniqueness check
then collides on them on purpose.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

UID: Final = "{uid}"
DEFAULT_BODY: Final[Mapping[str, Any]] = {"title": "httpconflict audit {uid}"}
#: The list the race's writers append their write ids to, beside the counter.
MARKS: Final = "audit_writes"
#: PUT the whole state, PATCH a merge patch, or POST the whole state to the item's URL
#: (flask-restful APIs such as Redash change an item that way).
WRITE_METHODS: Final = ("PUT", "PATCH", "POST")


@dataclass(frozen=True, slots=True)
class AuditSettings:
    """One audit's target and bounds (the command's options, checked)."""

    collection_url: str
    body: Mapping[str, Any] = field(default_factory=lambda: dict(DEFAULT_BODY))
    unique: tuple[str, ...] = ()
    id_field: str = "id"
    counter: str = "audit_count"
    writers: int = 8
    rounds: int = 6
    duplicates: int = 3
    max_requests: int = 400
    time_limit: float = 30.0
    request_timeout: float = 5.0
    headers: Mapping[str, str] = field(default_factory=dict)
    write_method: str = "PUT"
    keep: bool = False
    #: The member of each answer that holds the resource (CTFd's "data", RealWorld's
    #: "article"); None: the answer is the resource, or the audit finds the member itself.
    envelope: str | None = None
    #: Whether requests are wrapped in `envelope` too (the --body was given wrapped in it):
    #: `body` is then the resource inside, and the target wraps what it sends.
    wrap_requests: bool = False
    #: The JSON:API type of the resources, when the API speaks JSON:API (a --body given as
    #: a JSON:API document): `body` is then its attributes (jsonapi.py).
    jsonapi_type: str | None = None

    def __post_init__(self) -> None:
        if not self.collection_url.startswith(("http://", "https://")):
            raise ValueError(
                f"URL must start with http:// or https://, not {self.collection_url!r}"
            )
        url = urlsplit(self.collection_url)
        try:
            url.port  # noqa: B018  # raises for a port that is no port
        except ValueError as error:
            raise ValueError(f"{self.collection_url!r} is not a URL: {error}") from None
        if not url.hostname:
            raise ValueError(f"URL names no host: {self.collection_url!r}")
        for option, name in (("--id-field", self.id_field), ("--counter", self.counter)):
            if not name:
                raise ValueError(f"{option} names no field")
        if not all(self.unique):
            raise ValueError("--unique names no field")
        if self.write_method not in WRITE_METHODS:
            raise ValueError(f"the write method is PUT, PATCH or POST, not {self.write_method!r}")
        if self.counter in self.unique:
            raise ValueError(f"the counter field {self.counter!r} cannot be a unique field")
        if self.envelope == "":
            raise ValueError("--envelope names no member")

    def render_body(self, uid: str) -> dict[str, Any]:
        """The template with `uid` filled in, unique fields made unique."""
        body: dict[str, Any] = _fill(dict(self.body), uid)
        for name in self.unique:
            value = body.get(name)
            if not (isinstance(value, str) and uid in value):
                body[name] = unique_value(name, value, uid)
        return body


def unique_value(name: str, template: object, uid: str) -> str:
    """A value for a unique field that no other test resource has.

    An e-mail address stays one (in the example.com domain RFC 2606
    reserves), because an API may validate it.
    """
    if (isinstance(template, str) and "@" in template) or name.lower().endswith("email"):
        return f"audit-{uid}@example.com"
    return f"audit-{uid}"


def _fill(value: Any, uid: str) -> Any:
    if isinstance(value, str):
        return value.replace(UID, uid)
    if isinstance(value, list):
        return [_fill(item, uid) for item in value]
    if isinstance(value, dict):
        return {key: _fill(item, uid) for key, item in value.items()}
    return value


def parse_body(text: str) -> dict[str, Any]:
    """``--body``: a JSON object, inline or as ``@FILE``."""
    if text.startswith("@"):
        try:
            text = Path(text[1:]).read_text(encoding="utf-8")
        except OSError as error:
            raise ValueError(f"cannot read the body template: {error}") from error
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"the body template is not JSON: {error}") from error
    except RecursionError as error:
        raise ValueError("the body template is nested deeper than Python reads") from error
    if not isinstance(value, dict):
        raise ValueError("the body template must be a JSON object")
    return value


def wrapped_in(body: Mapping[str, Any]) -> str | None:
    """The one member `body` is wrapped in (``{"article": {...}}``), or None."""
    if len(body) == 1:
        (name, inner), *_ = body.items()
        if isinstance(inner, dict):
            return str(name)
    return None


def unwrap(body: dict[str, Any], envelope: str | None) -> tuple[dict[str, Any], bool]:
    """The resource a --body template describes, and whether requests are wrapped.

    With ``--envelope article``, a template given as ``{"article": {...}}``
    says that the API takes its requests wrapped as its answers are (the
    RealWorld spec): the audit works with what is inside, and wraps every
    body it sends. A template not wrapped so is sent as it is (CTFd takes
    flat requests and answers ``{"success": true, "data": {...}}``).
    """
    if envelope is not None and wrapped_in(body) == envelope:
        return dict(body[envelope]), True
    return body, False


def parse_header(text: str) -> tuple[str, str]:
    """``--header 'Name: value'``."""
    name, colon, value = text.partition(":")
    if not colon or not name.strip():
        raise ValueError(f"a header is 'Name: value', not {text!r}")
    return name.strip(), value.strip()
