"""The test's own check of an API, made with httpx, to hold the audit's findings against.

Written apart from the audit's code on purpose, and simpler: the test
names how each API carries the version (pouchdb-server's ``_rev``,
django-concurrency's ``version``, the ETag) instead of learning it, does
each step once and in a fixed order (the "race" is two clients that read
the same version, then write one after the other), and reads back what
each write or DELETE really did. `compare` then lists every finding of
the audit's ``--json`` report beside what this check saw.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

import httpx


@dataclass(frozen=True)
class Api:
    """How to use one API correctly, as its documentation says."""

    #: The collection URL the API really uses (with its trailing slash, if any).
    collection: str
    counter: str = "audit_count"
    #: The body member that carries the version, or None.
    member: str | None = None
    #: Whether the API's ETags go in If-Match.
    etag: bool = True
    #: Whether a DELETE names its version by the member's value (else by the ETag).
    delete_by_member: bool = False
    #: Whether item URLs end with a slash (DRF) when built from an id.
    item_slash: bool = False


@dataclass
class Observed:
    """What the test saw."""

    etag: str | None = None
    not_modified_status: int | None = None
    stale_write_status: int = 0
    stale_write_applied: bool = False
    identical_stale_status: int | None = None
    blind_write_status: int = 0
    blind_write_applied: bool = False
    stale_delete_status: int = 0
    stale_delete_gone: bool = False
    blind_delete_status: int = 0
    blind_delete_gone: bool = False
    #: The two interleaved writes' statuses, and how far the counter moved.
    race_statuses: tuple[int, int] = (0, 0)
    race_moved: int = 0
    created_with_key: int = 0
    error_media_type: str | None = None
    made: list[str] = field(default_factory=list)

    @property
    def race_lost(self) -> bool:
        acknowledged = sum(200 <= s < 300 for s in self.race_statuses)
        return acknowledged > self.race_moved


class Checker:
    """The steps, each on a resource of its own."""

    def __init__(self, api: Api, http: httpx.Client) -> None:
        self.api = api
        self.http = http
        self.seen = Observed()

    def create(self, headers: dict[str, str] | None = None, title: str | None = None) -> str:
        title = title or f"independent check {uuid.uuid4().hex[:8]}"
        body = {"title": title, self.api.counter: 0}
        answer = self.http.post(self.api.collection, json=body, headers=headers)
        assert answer.status_code in (200, 201), answer.text
        location = answer.headers.get("location")
        if location:
            url: str = urljoin(self.api.collection, location)
        else:
            slash = "/" if self.api.item_slash else ""
            url = f"{self.api.collection.rstrip('/')}/{answer.json()['id']}{slash}"
        self.seen.made.append(url)
        return url

    def read(self, url: str) -> tuple[dict[str, Any], str | None]:
        answer = self.http.get(url)
        assert answer.status_code == 200, answer.text
        document: dict[str, Any] = answer.json()
        return document, answer.headers.get("etag")

    def write(
        self,
        url: str,
        state: dict[str, Any],
        count: int,
        etag: str | None,
        member: Any = None,
    ) -> httpx.Response:
        """PUT the state with the counter at `count`, naming (etag, member), or nothing."""
        body = {k: v for k, v in state.items() if k != self.api.member}
        body[self.api.counter] = count
        if member is not None and self.api.member is not None:
            body[self.api.member] = member
        headers = {"If-Match": etag} if etag and self.api.etag else {}
        return self.http.put(url, json=body, headers=headers)

    def version(self, state: dict[str, Any]) -> Any:
        return state.get(self.api.member) if self.api.member else None

    def delete_tag(self, state: dict[str, Any], etag: str | None) -> str:
        """The If-Match of a DELETE naming the version `state` and `etag` show."""
        if self.api.delete_by_member:
            return f'"{self.version(state)}"'
        return etag or '"made-up"'

    def gone(self, url: str) -> bool:
        return self.http.get(url).status_code in (404, 410)

    def stale_writes(self) -> None:
        url = self.create()
        first, etag1 = self.read(url)
        seen = self.seen
        seen.etag = etag1
        if etag1:
            seen.not_modified_status = self.http.get(
                url, headers={"If-None-Match": etag1}
            ).status_code
        fresh = self.write(url, first, first[self.api.counter] + 1, etag1, self.version(first))
        assert fresh.is_success, fresh.text
        second, _ = self.read(url)
        # No ETag and no version member: a made-up tag, as stale as can be.
        tag = etag1 or (None if self.api.member else '"made-up"')
        stale = self.write(url, second, 100, tag, self.version(first))
        seen.stale_write_status = stale.status_code
        third, _ = self.read(url)
        seen.stale_write_applied = third[self.api.counter] == 100
        if stale.status_code in (409, 412):
            same = self.write(url, third, third[self.api.counter], tag, self.version(first))
            seen.identical_stale_status = same.status_code
        state, _ = self.read(url)
        blind = self.write(url, state, 200, None)
        seen.blind_write_status = blind.status_code
        seen.blind_write_applied = self.read(url)[0][self.api.counter] == 200

    def deletes(self) -> None:
        url = self.create()
        first, etag1 = self.read(url)
        fresh = self.write(url, first, 1, etag1, self.version(first))
        assert fresh.is_success, fresh.text
        answer = self.http.delete(url, headers={"If-Match": self.delete_tag(first, etag1)})
        self.seen.stale_delete_status = answer.status_code
        self.seen.stale_delete_gone = self.gone(url)
        if self.seen.stale_delete_gone:
            url = self.create()
        answer = self.http.delete(url)
        self.seen.blind_delete_status = answer.status_code
        self.seen.blind_delete_gone = self.gone(url)

    def race(self) -> None:
        """Two clients read the same count and version, then both write the count plus one."""
        url = self.create()
        state, etag = self.read(url)
        count = state[self.api.counter]
        a = self.write(url, state, count + 1, etag, self.version(state))
        b = self.write(url, state, count + 1, etag, self.version(state))
        self.seen.race_statuses = (a.status_code, b.status_code)
        self.seen.race_moved = self.read(url)[0][self.api.counter] - count

    def duplicates(self) -> None:
        key = f"independent-{uuid.uuid4().hex}"
        urls = {self.create({"Idempotency-Key": key}, title=key) for _ in range(2)}
        self.seen.created_with_key = len(urls)
        absent = self.http.get(f"{self.api.collection.rstrip('/')}/independent-absent")
        self.seen.error_media_type = absent.headers.get("content-type", "").split(";")[0]

    def clean_up(self) -> None:
        """Delete what the checks made and is still there, naming the current version."""
        for url in self.seen.made:
            answer = self.http.get(url)
            if answer.status_code != 200:
                continue
            tag = self.delete_tag(answer.json(), answer.headers.get("etag"))
            self.http.delete(url, headers={"If-Match": tag})


def observe(api: Api) -> Observed:
    """Every step, once, cleaned up after."""
    with httpx.Client(timeout=10) as http:
        checker = Checker(api, http)
        try:
            checker.stale_writes()
            checker.deletes()
            checker.race()
            checker.duplicates()
        finally:
            checker.clean_up()
    return checker.seen


def compare(report: dict[str, Any], seen: Observed, api: Api) -> list[tuple[str, Any, Any]]:
    """(finding, what the audit reported, what the test saw), for every finding."""
    checks = {c["id"]: c for c in report["checks"]}
    if_match = checks["if-match"]["data"]
    delete = checks["delete"]["data"]
    race = checks["lost-update"]["data"]
    keys = checks["idempotency-key"]["data"]
    etag = seen.etag
    etag_verdict = "fail" if etag is None else "warn" if etag.startswith("W/") else "pass"
    second = seen.race_statuses[1]
    rows: list[tuple[str, Any, Any]] = [
        ("etag verdict", checks["etag"]["verdict"], etag_verdict),
        ("version members", if_match["version_members"], [api.member] if api.member else []),
        ("stale write status", if_match["stale_status"], seen.stale_write_status),
        (
            "identical stale write status",
            if_match.get("identical_stale_status"),
            seen.identical_stale_status,
        ),
        (
            "blind write status",
            checks["precondition-required"]["data"]["status"],
            seen.blind_write_status,
        ),
        ("stale DELETE status", delete["stale_status"], seen.stale_delete_status),
        ("stale DELETE deleted", delete["stale_deleted"], seen.stale_delete_gone),
        ("blind DELETE status", delete["blind_status"], seen.blind_delete_status),
        ("blind DELETE deleted", delete["blind_deleted"], seen.blind_delete_gone),
        ("race lost updates", race["lost"] > 0, seen.race_lost),
        ("race 5xx", race["server_errors"] > 0, second >= 500),
        ("race refusals", race["refused"] > 0, second in (409, 412)),
        ("keyed POSTs duplicated", keys["created_with_key"] > 1, seen.created_with_key > 1),
        (
            "errors as problem+json",
            checks["problem-json"]["verdict"] == "pass",
            seen.error_media_type == "application/problem+json",
        ),
    ]
    if etag is not None:
        rows.append(
            (
                "If-None-Match status",
                checks["not-modified"]["data"]["status"],
                seen.not_modified_status,
            )
        )
    rows.append(("stale write applied", if_match["stale_applied"], seen.stale_write_applied))
    blind = checks["precondition-required"]["data"]
    rows.append(("blind write applied", blind["applied"], seen.blind_write_applied))
    return rows


def mismatches(report: dict[str, Any], seen: Observed, api: Api) -> list[str]:
    """The findings where the audit and the test disagree, one line each."""
    return [
        f"{name}: audit {ours!r}, test {theirs!r}"
        for name, ours, theirs in compare(report, seen, api)
        if ours != theirs
    ]
