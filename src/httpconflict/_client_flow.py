"""The client's operations as generators of commands: read-modify-write, and create.

Theory of operation: `update_flow` and `create_flow` are whole client
algorithms that do no I/O. They yield commands (`Send` a request, `Sleep`)
and are sent back what happened (`Received`, or `TransportFailure` when no
answer came; None after a `Sleep`), as httpx's ``auth_flow`` does, so one
implementation serves a blocking and an async driver, and tests step it by
hand. Each ends by returning a `StoredDocument`, or a `GaveUp` that says why
(the driver turns it into an exception).

What to do with each answer is decided in one place, `RULES`: resend the
same request (nothing was applied, or the repeat is answered from its
Idempotency-Key), read the document again and redo the change (it moved
on), or give up. How long to wait first, and whether there is time left,
is `Tries`'s business (``_client_retry``).

Every write carries a fresh Idempotency-Key, and every resend of that
write the same one: a write whose answer was lost is then answered, on its
resend, with what became of it (a server that honours keys replays the
recorded answer, ``Idempotent-Replayed: true``), never applied twice. A
resend whose answer is a fresh refusal cannot tell whether the lost try was
applied (the server may not honour keys, or the try may never have reached
it), so the operation ends OUTCOME_UNKNOWN rather than redo a change that
may be in place: whether a change is in place cannot be told from the
document either, since another client may have made the same one.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Callable, Generator
from typing import Any, Final, TypeAlias
from urllib.parse import urljoin

from ._client_commands import (
    Command,
    GaveUp,
    Received,
    Reply,
    Send,
    Sleep,
    StoredDocument,
    TransportFailure,
)
from ._client_retry import GiveUpReason, RetryPolicy, Tries, retry_after
from ._etag import ETag
from ._httpdate import parse_http_date
from ._json_value import Json, copy_json
from ._merge_patch import MergePatchUnreachable, merge_patch_diff
from ._problem import PROBLEM_TYPE_BASE

JSON: Final = "application/json"
MERGE_PATCH: Final = "application/merge-patch+json"
#: The fields of an update's read. The identity coding: a server gives a
#: compressed answer an ETag of its own (RFC 9110 §8.8.3: Apache httpd
#: appends "-gzip", nginx and Django's GZipMiddleware make it weak), and
#: compares a write's If-Match with the uncompressed document's, so a write
#: made from a compressed read was refused 412 until the budget ran out.
READ_FIELDS: Final = (("Accept", JSON), ("Accept-Encoding", "identity"))
#: Seconds a document stays "just modified", its ETag weak (RFC 9110 §8.8.2.2).
WEAK_FOR: Final = 1.0
#: Writes refused 412 while the reads between them showed the version each was
#: made from, after which the server is taken not to match its own ETags.
UNMOVED_412S: Final = 3


class Step(enum.Enum):
    """Which request of an operation an answer is for."""

    #: GET of the document an update changes.
    READ = "read"
    #: The conditional PATCH (or PUT) carrying the change, with If-Match.
    WRITE = "write"
    #: POST with an Idempotency-Key.
    CREATE = "create"


class Retry(enum.Enum):
    """What an answer calls for."""

    #: Send the very same request again, with its Idempotency-Key: nothing
    #: was applied, or the server answers the repeat from the key.
    RESEND = "resend"
    #: Read the document again and redo the change on it: it moved on.
    REREAD = "reread"
    GIVE_UP = "give-up"


TRANSPORT: Final = "transport"

#: What to do after an answer that is not a success, by step and answer:
#: ``"transport"`` (no answer), ``"409 merge-conflict"`` (status and
#: problem type), ``"503"`` (status), ``"5xx"`` (class), looked up in that
#: order. Anything not here is given up on.
RULES: Final[dict[tuple[Step, str], Retry]] = {
    (Step.READ, TRANSPORT): Retry.RESEND,
    (Step.READ, "429"): Retry.RESEND,
    # A GET changes nothing: any 5xx is read again within the budget (a
    # proxy's 502 or 504 while the service behind it restarts, above all).
    (Step.READ, "5xx"): Retry.RESEND,
    # A write is resent with its key: if the lost try was applied, the
    # server answers from the key. If it answers a fresh refusal instead,
    # the operation cannot know what happened (see `_Operation`).
    (Step.WRITE, TRANSPORT): Retry.RESEND,
    (Step.WRITE, "5xx"): Retry.RESEND,
    (Step.WRITE, "412"): Retry.REREAD,
    # Someone else changed the same fields: the change is computed again
    # from what they wrote, which resolves the conflict the way the caller's
    # function would have had it run later.
    (Step.WRITE, "409 merge-conflict"): Retry.REREAD,
    (Step.WRITE, "409 idempotency-key-in-flight"): Retry.RESEND,
    (Step.WRITE, "429"): Retry.RESEND,
    # The key makes every repeat of a create safe: a create that happened
    # is answered from its record, one that is running answers 409 until done.
    (Step.CREATE, TRANSPORT): Retry.RESEND,
    (Step.CREATE, "409 idempotency-key-in-flight"): Retry.RESEND,
    (Step.CREATE, "429"): Retry.RESEND,
    (Step.CREATE, "5xx"): Retry.RESEND,
}


def rule(step: Step, reply: Received | TransportFailure) -> Retry:
    """What `RULES` says about `reply` (a success is never retried)."""
    if isinstance(reply, TransportFailure):
        return RULES.get((step, TRANSPORT), Retry.GIVE_UP)
    if 200 <= reply.status < 300 or _replayed_failure(reply):
        return Retry.GIVE_UP
    keys = [str(reply.status), f"{reply.status // 100}xx"]
    problem = reply.problem
    if problem is not None:
        keys.insert(0, f"{reply.status} {problem.type.removeprefix(PROBLEM_TYPE_BASE)}")
    for key in keys:
        found = RULES.get((step, key))
        if found is not None:
            return found
    return Retry.GIVE_UP


# The sub-flows below return the answer to act on, or how the operation ended.
_Sub: TypeAlias = Generator[Command, Reply, "Received | GaveUp"]


class _Operation:
    """What the steps of one operation share: its tries, its last answer, how to give up.

    It also knows whether the write being exchanged may have been applied
    without an answer saying so (`unsure`): a try got no answer after it
    may have reached the server, or a 5xx (but a 503 `unavailable` or
    `contended`, which says the request was not applied). Then only a success, or an
    answer replayed from the write's key, says what happened; anything else
    ends the operation OUTCOME_UNKNOWN.
    """

    def __init__(self, operation: str, url: str, tries: Tries) -> None:
        self.operation = operation
        self.url = url
        self.tries = tries
        self.sent: Send | None = None
        self.last: Received | None = None
        self.step = Step.READ
        self.unsure = False

    def give_up(
        self, reason: GiveUpReason, reply: Received | TransportFailure, detail: str = ""
    ) -> GaveUp:
        error = reply.error if isinstance(reply, TransportFailure) else None
        if self.step is not Step.READ and _replayed_failure(reply):
            status = reply.status if isinstance(reply, Received) else "5xx"
            cause = detail or (
                f"a resend was answered from its key with the {status} of a try that failed "
                "after applying some of it; resending gets the same"
            )
            reason, detail = GiveUpReason.OUTCOME_UNKNOWN, f"{reason.value}: {cause}"
        elif self.step is not Step.READ and self.unsure and not _replayed(reply):
            cause = detail or "its answer was lost and no resend was answered from its key"
            reason, detail = GiveUpReason.OUTCOME_UNKNOWN, f"{reason.value}: {cause}"
        elif self.step is not Step.READ and _see_other(reply):
            cause = "a 303 may point at the write's result, or at a page that refused it"
            reason, detail = GiveUpReason.OUTCOME_UNKNOWN, f"{reason.value}: {cause}"
        return GaveUp(
            reason, self.operation, self.url, self.tries.count, self.sent, self.last, error, detail
        )

    def pause(
        self, reply: Received | TransportFailure, least: float | None = None
    ) -> Generator[Command, Reply, GaveUp | None]:
        """Sleep before the next try (`least` seconds at least); or, if there is none, the end."""
        asked = least
        if isinstance(reply, Received):
            said = retry_after(
                reply.header("retry-after"), date=reply.header("date"), wall=reply.wall
            )
            if said is not None:
                asked = said if asked is None else max(asked, said)
        delay = self.tries.pause(reply.at, asked)
        if isinstance(delay, GiveUpReason):
            return self.give_up(delay, reply, self.tries.detail)
        yield Sleep(delay)
        return None

    def exchange(self, step: Step, send: Send) -> _Sub:
        """Send until an answer that is not to be resent as it is, or the end."""
        self.step = step
        self.unsure = False
        self.sent = send
        while True:
            reply = yield send
            assert reply is not None, "a Send is answered with Received or TransportFailure"
            if isinstance(reply, Received):
                self.last = reply
                self.unsure = self.unsure or (reply.status >= 500 and not _not_applied(reply))
            else:
                self.unsure = self.unsure or reply.sent
            action = rule(step, reply)
            if action is not Retry.RESEND:
                if isinstance(reply, TransportFailure):
                    return self.give_up(GiveUpReason.REFUSED, reply)
                return reply
            ended = yield from self.pause(reply)
            if ended is not None:
                return ended


def _unsure_after(op: _Operation, got: Received) -> bool:
    """Whether, after `got`, the write may have been applied by a try whose answer was lost.

    A replayed answer is the lost try's own: it says what became of it.
    """
    return op.unsure and not _replayed(got)


def _not_applied(reply: Received) -> bool:
    """Whether a 5xx says the request was not applied: a fresh 503 `unavailable` or `contended`.

    `unavailable` means "the request was not applied" (a key store or
    database refused it before anything of it committed); `contended` that
    every attempt's write lost its race, each checked in the write's own
    statement, so none was made. Any other 5xx, a 504 `outcome-unknown`, a
    503 without one of those types (a gateway's), or one replayed from the
    key (recorded because something was applied) leaves the write in doubt.
    """
    problem = reply.problem
    return (
        reply.status == 503
        and problem is not None
        and problem.type in _NOT_APPLIED_503
        and not _replayed(reply)
    )


_NOT_APPLIED_503: Final = frozenset(
    PROBLEM_TYPE_BASE + slug for slug in ("unavailable", "contended")
)


def _see_other(reply: Received | TransportFailure) -> bool:
    """Whether a write was answered 303 See Other, which may mean it was applied.

    RFC 9110 §15.4.4: a 303 "is primarily used to allow the output of a
    POST action to redirect the user agent to a selected resource" (the
    post/redirect/get pattern): the write may be done, its result at the
    Location; a server sending a write to its login page answers 303 too.
    The answer cannot tell which, so neither success nor "not applied"
    (a 301, 302, 307 or 308 says the resource is elsewhere: not applied).
    """
    return isinstance(reply, Received) and reply.status == 303


def _replayed_failure(reply: Received | TransportFailure) -> bool:
    """Whether a 5xx was replayed from the key: the first try failed after applying some of it.

    A server records a 5xx under the key when it cannot take it back (a
    write committed before the failure): resending gets the same answer,
    and the write may be in place, in whole or in part.
    """
    return isinstance(reply, Received) and reply.status >= 500 and _replayed(reply)


def _replayed(reply: Received | TransportFailure) -> bool:
    """Whether an answer was replayed from its Idempotency-Key (it tells what became of a try)."""
    if isinstance(reply, TransportFailure):
        return False
    return (reply.header("idempotent-replayed") or "").strip().lower() == "true"


def _json_body(document: Json) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def _document(received: Received) -> dict[str, Any] | None:
    """The JSON object in a body, or None if it is not one."""
    value = received.json_object()
    return value if isinstance(value, dict) else None


def update_flow(
    url: str,
    change: Callable[[Any], Any],
    *,
    policy: RetryPolicy,
    started: float,
    random: Callable[[], float],
    new_key: Callable[[], str],
) -> Generator[Command, Reply, StoredDocument | GaveUp]:
    """Read-modify-write of the JSON document at `url`, until it lands or cannot.

    Each attempt GETs the document, calls `change` on a deep copy of it (the
    function returns the new document, or None to keep the copy it changed
    in place), and sends the difference as a JSON Merge Patch with If-Match
    and ``Prefer: rebase``, so the server can merge it with changes made
    meanwhile to other fields. A change a merge patch cannot express (a
    member set to null) is sent as a PUT of the whole document. A change
    that changes nothing sends nothing. A server that does not take merge
    patches (405, 415) gets the PUT instead. Each write carries a fresh
    Idempotency-Key from `new_key`, kept for its resends.
    """
    op = _Operation("update", url, Tries(policy, started=started, random=random))
    read = Send("GET", url, READ_FIELDS)
    server_patches = True
    # The last write refused 412 (or 409 by another server's words), and how
    # many reads in a row showed the very version such a write was made from.
    refused: tuple[Send, Received] | None = None
    unmoved = 0
    while True:
        got = yield from op.exchange(Step.READ, read)
        if isinstance(got, GaveUp):
            return got
        if not 200 <= got.status < 300:
            return op.give_up(GiveUpReason.REFUSED, got)
        current = got.json_object()
        etag = _strong_etag(got)
        if etag is None and _weak_for_now(got):
            ended = yield from op.pause(got, least=WEAK_FOR)
            if ended is not None:
                return ended
            continue
        if isinstance(current, str) or etag is None:
            if not got.whole:
                what = f"is longer than the {len(got.body):,} bytes the client reads (max_answer)"
            elif isinstance(current, str):
                what = f"is not a JSON object ({current})"
            else:
                what = _no_strong_etag(got)
            return op.give_up(GiveUpReason.UNUSABLE_ANSWER, got, f"the document read {what}")
        if refused is not None:
            write, refusal = refused
            unmoved = unmoved + 1 if etag == write.header("if-match") else 0
            if unmoved and (refusal.status == 409 or unmoved >= UNMOVED_412S):
                op.sent, op.last = write, refusal
                return op.give_up(GiveUpReason.REFUSED, refusal, _unmoved(refusal, etag, unmoved))
            refused = None
        draft = copy_json(current)
        new = change(draft)
        new = draft if new is None else new
        if not isinstance(new, dict):
            raise TypeError(f"the change must return a dict or None, not {type(new).__name__}")
        try:
            patch: Json = merge_patch_diff(current, new)
        except MergePatchUnreachable:
            patch = None
        if patch == {}:
            return StoredDocument(url, current, etag, op.tries.count)
        if patch is None or not server_patches:
            write = _put(url, etag, new, new_key())
        else:
            write = _patch(url, etag, patch, new_key())
        got = yield from op.exchange(Step.WRITE, write)
        if isinstance(got, GaveUp):
            return got
        if write.method == "PATCH" and got.status in (405, 415) and not _unsure_after(op, got):
            # RFC 5789 §2.2: 415 for a patch format the server does not take;
            # a server without PATCH answers 405. The whole document says the same.
            server_patches = False
            write = _put(url, etag, new, new_key())
            got = yield from op.exchange(Step.WRITE, write)
            if isinstance(got, GaveUp):
                return got
        if 200 <= got.status < 300:
            return (yield from _written(op, got, new))
        foreign = _foreign_conflict(got)
        if (rule(Step.WRITE, got) is not Retry.REREAD and not foreign) or _unsure_after(op, got):
            # A refusal of a write that may have been applied by a try whose
            # answer was lost says nothing of that try: redoing the change
            # could make it twice.
            return op.give_up(GiveUpReason.REFUSED, got)
        if got.status == 412 or foreign:
            refused = (write, got)
        ended = yield from op.pause(got)
        if ended is not None:
            return ended


def _patch(url: str, etag: str, patch: Json, key: str) -> Send:
    headers = (
        ("Content-Type", MERGE_PATCH),
        ("If-Match", etag),
        # RFC 7240: merge with what others changed since, when it touches
        # nothing of theirs (a server that does not know it answers 412).
        ("Prefer", "rebase"),
        ("Idempotency-Key", sf_string(key)),
    )
    return Send("PATCH", url, headers, _json_body(patch))


def _put(url: str, etag: str, new: Json, key: str) -> Send:
    headers = (
        ("Content-Type", JSON),
        ("If-Match", etag),
        ("Idempotency-Key", sf_string(key)),
    )
    return Send("PUT", url, headers, _json_body(new))


def _written(
    op: _Operation, got: Received, new: Json
) -> Generator[Command, Reply, StoredDocument | GaveUp]:
    """The result of a write that succeeded, read again if its answer does not show it.

    The write was applied whatever that read gives: if it fails, the result
    says so with ``document`` None (never an error, which a caller could
    answer by making the change again).
    """
    rebased = got.header("rebased-from")
    written = StoredDocument(op.url, None, got.header("etag"), op.tries.count, rebased)
    document: Json = _document(got)
    if document is None and rebased is None:
        # The server took this document (or this patch on the version it
        # was made from): it is what is stored now.
        document = new
    if document is None:
        again = yield from op.exchange(Step.READ, Send("GET", op.url, READ_FIELDS))
        if isinstance(again, GaveUp) or not 200 <= again.status < 300:
            return written
        document = _document(again)
        if document is None:
            return written
        got = again
    return StoredDocument(op.url, document, got.header("etag"), op.tries.count, rebased)


def _foreign_conflict(received: Received) -> bool:
    """Whether a write was refused 409 in another server's words (no problem type of ours).

    CouchDB answers a write made from an old revision ``409 {"error":
    "conflict"}``, where RFC 9110 has 412; a 409 also refuses what no
    version would change (a unique name taken). The document is read
    again: moved on, the change is redone on it; not moved, the 409 was
    not about versions, and is the answer.
    """
    if received.status != 409:
        return False
    problem = received.problem
    return problem is None or not problem.type.startswith(PROBLEM_TYPE_BASE)


def _unmoved(refusal: Received, etag: str, reads: int) -> str:
    """Why a write refused while the document stayed at its version is given up on."""
    if refusal.status == 409:
        return (
            f"a read after it shows the version the write was made from ({etag}): the "
            "conflict is not with a newer version, and the same write would meet it again"
        )
    return (
        f"the server refused If-Match: {etag} {reads} times while its reads kept answering "
        "that ETag: its If-Match does not compare with the ETag its GET sends (a proxy that "
        "recodes answers?), or its reads lag behind its writes (a cache?)"
    )


def _no_strong_etag(received: Received) -> str:
    value = received.header("etag")
    if value is None:
        return "came without an ETag: the change cannot be sent with If-Match"
    return (
        f"came with the weak ETag {value}, which no If-Match matches (RFC 9110 §13.1.1): "
        "the change cannot be sent safely; the server must give strong ETags"
    )


def _weak_for_now(received: Received) -> bool:
    """Whether a weak ETag is one its server gives a document modified within the second.

    RFC 9110 §8.8.2.2: a modification time is a strong validator only once
    the representation is more than a second older than the answer's
    Date; a server tagging by modification time (Apache httpd: size and
    mtime) makes the tag weak until then (W/, which no If-Match matches).
    Read a second later, the same document has a strong one.
    """
    value = received.header("etag")
    modified, date = received.header("last-modified"), received.header("date")
    if value is None or modified is None or date is None:
        return False
    try:
        weak = ETag.parse(value).weak
        age = (parse_http_date(date) - parse_http_date(modified)).total_seconds()
    except ValueError:
        return False
    return weak and 0 <= age <= WEAK_FOR


def _strong_etag(received: Received) -> str | None:
    value = received.header("etag")
    if value is None:
        return None
    try:
        etag = ETag.parse(value)
    except ValueError:
        return None
    return None if etag.weak else etag.to_header()


def create_flow(
    url: str,
    document: Json,
    *,
    key: str,
    policy: RetryPolicy,
    started: float,
    random: Callable[[], float],
) -> Generator[Command, Reply, StoredDocument | GaveUp]:
    """POST `document` to the collection at `url` once, however often it is sent.

    Every try carries the same Idempotency-Key, `key`, and the same body,
    so a try whose answer was lost (or that is still running) is answered
    with the first one's outcome instead of creating a second document.
    """
    op = _Operation("create", url, Tries(policy, started=started, random=random))
    headers = (("Content-Type", JSON), ("Idempotency-Key", sf_string(key)))
    got = yield from op.exchange(Step.CREATE, Send("POST", url, headers, _json_body(document)))
    if isinstance(got, GaveUp):
        return got
    if not 200 <= got.status < 300:
        return op.give_up(GiveUpReason.REFUSED, got)
    location = got.header("location")
    # A 2xx says the document was made, whatever its body: one that is not a
    # JSON object (a list of rows, a word) shows nothing of it, as none would,
    # and the document is the one sent. Giving up would say "not made", and
    # the caller's next create would make a second.
    created = _document(got)
    return StoredDocument(
        _created_at(url, location),
        document if created is None else created,
        got.header("etag"),
        op.tries.count,
        replayed=(got.header("idempotent-replayed") or "").strip().lower() == "true",
    )


def _created_at(collection: str, location: str | None) -> str:
    """The created document's URL: the Location, resolved against the collection's URL.

    A Location that does not parse as a URL (``http://[oops``) is kept as it
    came: the document was made all the same, and an error would say it
    was not.
    """
    if not location:
        return collection
    try:
        return urljoin(collection, location)
    except ValueError:
        return location


# RFC 8941 §3.3.3: sf-string = DQUOTE *chr DQUOTE, chr = unescaped / "\" ( DQUOTE / "\" ),
# unescaped = %x20-21 / %x23-5B / %x5D-7E.
_SF_STRING_CHARS: Final = re.compile(r"[\x20-\x7e]*")


def sf_string(text: str) -> str:
    """`text` as an RFC 8941 sf-string, the Idempotency-Key field's type."""
    if _SF_STRING_CHARS.fullmatch(text) is None:
        raise ValueError(f"an sf-string holds printable ASCII only, not {text!r}")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
