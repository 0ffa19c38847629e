"""Setting up an audit: the first test resource, made where the API keeps its collection.

Theory of operation: the audit POSTs its first resource to the URL it
was given. A redirect that only adds or drops the trailing slash (Django's
APPEND_SLASH answers ``POST /items`` with 301 to ``/items/``, FastAPI
with 307) is followed once: the audit POSTs again where it points and
audits that collection, saying so in the report. A 404 or 405 to a URL
without a trailing slash (a DRF router without Django's CommonMiddleware)
is tried once with one. The first GET of the new item is treated the same
way, and the item URLs made after follow what it showed. When no test
resource can be made, the message names what to change: the URL (404,
405, a redirect elsewhere), the credentials (401, 403) or the body (400,
409, 413, 415, 422).
"""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit, urlunsplit

from .context import AuditContext
from .errors import AuditStopped, CannotAudit
from .exchange import Exchange
from .settings import AuditSettings, wrapped_in
from .target import Target

REDIRECTS = (301, 302, 303, 307, 308)


def toggled(url: str) -> str:
    """`url` with its path's trailing slash added, or dropped."""
    parts = urlsplit(url)
    path = parts.path[:-1] if parts.path.endswith("/") else parts.path + "/"
    return urlunsplit(parts._replace(path=path))


def slash_redirect(answer: Exchange) -> str | None:
    """Where a redirect that only toggles the trailing slash of the request's URL points."""
    location = answer.header("location")
    if answer.status not in REDIRECTS or not location:
        return None
    moved = urljoin(answer.url, location)
    return moved if moved == toggled(answer.url) else None


def _path(url: str) -> str:
    return urlsplit(url).path or "/"


def hint(answer: Exchange) -> str:
    """Why POST made no test resource, and what to change."""
    said = f"POST {answer.url} answered {answer.status}"
    location = answer.header("location")
    if answer.status in REDIRECTS and location:
        return f"{said}, a redirect to {urljoin(answer.url, location)}: audit that URL"
    if answer.status in (404, 405):
        tried = "" if answer.url.endswith("/") else " (with and without a trailing slash)"
        return f"{said}{tried}: is this the URL of a collection that takes POST?"
    if answer.status in (401, 403):
        return f"{said}: pass credentials with --header 'Authorization: ...'"
    excerpt = answer.body[:200].decode("utf-8", "replace")
    if answer.status >= 500:
        return f"{said}, a server error: {excerpt!r}"
    return (
        f"{said}: the audit creates its test resources there (pass a body the API accepts "
        f"with --body): {excerpt!r}"
    )


def unplaced(answer: Exchange, id_field: str) -> str:
    """What the POST answer holds instead of the new resource's `id_field`, in words."""
    value = answer.json()
    if isinstance(value, dict) and id_field in value:
        found = value[id_field]
        kind = "null" if found is None else type(found).__name__
        kinds = {"list": "a list", "dict": "an object", "bool": "a boolean", "float": "a number"}
        return f"its {id_field!r} member is {kinds.get(kind, kind)}, not an id"
    if isinstance(value, list):
        return f"it is a list of {len(value)} values, not one resource holding {id_field!r}"
    if isinstance(value, dict):
        return f"it holds no {id_field!r} (it has {', '.join(map(repr, list(value)[:6]))})"
    return "its body is no JSON object"


async def set_up(target: Target, settings: AuditSettings, run_id: str) -> AuditContext:
    """Create the audit's first resource and read it back; `CannotAudit` when that fails."""
    try:
        created, item_url = await target.create("setup", settings.render_body(f"{run_id}-0"))
        given = target.collection_url
        redirected = slash_redirect(created)
        slashed = given + "/" if created.status in (404, 405) and given[-1:] != "/" else None
        if redirected or slashed:
            target.collection_url = redirected or slashed or given
            again, item_url = await target.create("setup", settings.render_body(f"{run_id}-1"))
            back = slash_redirect(again) == given
            if not back and (redirected or again.status not in (404, 405)):
                target.notes.append(
                    f"POST {_path(given)} -> {created.status}, so the audit used "
                    f"{_path(target.collection_url)}: POST there -> {again.status}"
                )
                created = again
            else:
                target.collection_url = given
        if not created.ok:
            raise CannotAudit(hint(created))
        envelope = target.envelope
        # The answers are wrapped in it, and so is the body: the API takes its
        # requests wrapped, and a flat write would be refused for its shape.
        if (
            envelope is not None
            and not settings.wrap_requests
            and (wrapped_in(settings.body) == envelope)
        ):
            raise CannotAudit(
                f"POST answers keep the resource in their {envelope!r} member, and --body "
                f"is wrapped in it too: run again with --envelope {envelope}, so that "
                "every write is wrapped the same way"
            )
        if item_url is None:
            raise CannotAudit(
                f"POST {target.collection_url} answered {created.status} without a Location "
                f"header, and {unplaced(created, settings.id_field)}: where is the new "
                "resource? (see --id-field)"
            )
        read = await target.send("setup", "GET", item_url)
        moved_item = slash_redirect(read)
        if moved_item is not None:
            target.relocate(item_url, moved_item)
            target.notes.append(
                f"GET {_path(item_url)} -> {read.status} to {_path(moved_item)}: the audit "
                "writes item URLs that way"
            )
            item_url = moved_item
            read = await target.send("setup", "GET", item_url)
    except AuditStopped as error:
        raise CannotAudit(str(error)) from error
    if read.status in (404, 410):
        # Not where the answer said: nothing the cleanup could delete there.
        target.forget(item_url)
        raise CannotAudit(
            f"GET {item_url} (where the POST answer put the new resource) answered "
            f"{read.status}: is the item URL the collection URL plus its {settings.id_field!r}? "
            "(see --id-field)"
        )
    if read.status != 200 or read.document() is None:
        said = f"GET {item_url} (the resource just created) answered {read.status}"
        if read.status in (401, 403):
            raise CannotAudit(f"{said}: pass credentials with --header 'Authorization: ...'")
        why = read.unreadable()
        raise CannotAudit(f"{said}, not 200 with a JSON object{f': {why}' if why else ''}")
    return AuditContext(settings, target, run_id, item_url, read)
