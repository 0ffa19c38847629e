"""Every hostile case of issue 14, one row each: a 4xx problem naming the limit, nothing changed.

Each row creates a document, sends the hostile request (with the document's
ETag where the method needs one), and checks the answer (its status, its
problem type and the limit it names) and that the document, its ETag and
its history are what they were. A row with `stored` first replaces the
stored text behind the service's back, as an older version could have
written it. `keyed` rows run in a collection with a unique key on
``email`` (PostgreSQL reads such bodies as jsonb).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.hostile.support import (
    JSON,
    JSON_PATCH,
    MERGE,
    Watched,
    assert_refused,
    create,
    snapshot,
    store_behind_its_back,
    strict_json,
)
from tests.test_json_domain import self_nesting_patch


def nested(depth: int, inner: str = "{}") -> str:
    """A JSON object `depth` objects deep."""
    return '{"a":' * (depth - 1) + inner + "}" * (depth - 1)


def add(value: str, path: str = "/v") -> bytes:
    return f'[{{"op": "add", "path": "{path}", "value": {value}}}]'.encode()


@dataclass(frozen=True)
class Case:
    method: str
    media_type: str
    body: bytes
    status: int
    slug: str
    limit: str | None = None
    stored: bytes | None = None
    keyed: bool = False


DIGITS_4301 = "1" * 4301


def self_copies(n: int) -> bytes:
    """A JSON Patch copying the whole document into a new member of itself `n` times.

    Each copy doubles the document: 23 make 8 million times the size.
    """
    copies = [b'{"op":"copy","from":"","path":"/k%d"}' % i for i in range(n)]
    return b"[" + b",".join(copies) + b"]"


def refused(method: str, media_type: str, body: bytes, limit: str, **more: Any) -> Case:
    """A case refused with 422 json-limit naming `limit`."""
    return Case(method, media_type, body, 422, "json-limit", limit, **more)


CASES = [
    # "500s: an integer of 4,301+ digits (PUT)"
    pytest.param(
        refused("PUT", JSON, b'{"n": %s}' % DIGITS_4301.encode(), "number-digits"),
        id="put-int-4301-digits",
    ),
    pytest.param(
        refused("POST", JSON, b'{"n": -%s}' % DIGITS_4301.encode(), "number-digits"),
        id="post-int-4301-digits",
    ),
    pytest.param(
        refused("PATCH", MERGE, b'{"n": %s}' % DIGITS_4301.encode(), "number-digits"),
        id="merge-int-4301-digits",
    ),
    # "a PATCH of a document that holds a lone surrogate, or a patch carrying one"
    pytest.param(
        refused("PATCH", MERGE, b'{"n": 2}', "lone-surrogate", stored=b'{"s":"\\ud800","n":1}'),
        id="patch-stored-lone-surrogate",
    ),
    pytest.param(
        refused("PATCH", JSON_PATCH, add('"x"'), "lone-surrogate", stored=b'{"\\udc00":1}'),
        id="json-patch-stored-surrogate-name",
    ),
    pytest.param(
        refused("PATCH", MERGE, b'{"s": "\\ud800"}', "lone-surrogate"),
        id="merge-carrying-lone-surrogate",
    ),
    pytest.param(
        refused("PATCH", JSON_PATCH, add('"\\udbff"'), "lone-surrogate"),
        id="json-patch-carrying-lone-surrogate",
    ),
    pytest.param(
        refused("PATCH", MERGE, b'{"\\ud800": 1}', "lone-surrogate"), id="merge-surrogate-name"
    ),
    pytest.param(
        refused("PUT", JSON, b'{"s": "\\ud800"}', "lone-surrogate"), id="put-lone-surrogate"
    ),
    # "a PATCH of a document nested 500+ deep (PUT accepts up to ~980)"
    pytest.param(refused("PUT", JSON, nested(500).encode(), "depth"), id="put-nested-500"),
    pytest.param(refused("PUT", JSON, nested(980).encode(), "depth"), id="put-nested-980"),
    pytest.param(refused("POST", JSON, nested(129).encode(), "depth"), id="post-nested-129"),
    pytest.param(
        refused("PATCH", MERGE, b'{"n": 2}', "depth", stored=nested(500).encode()),
        id="patch-stored-nested-500",
    ),
    pytest.param(
        refused("PATCH", MERGE, b'{"n": 2}', "depth", stored=nested(990).encode()),
        id="patch-stored-nested-990",
    ),
    pytest.param(
        refused(
            "PATCH",
            JSON_PATCH,
            add(nested(100), "/a" * 98 + "/x"),
            "depth",
            stored=nested(100, '{"n":1}').encode(),
        ),
        id="json-patch-result-too-deep",
    ),
    # "a JSON Patch value nested 900 deep"
    pytest.param(
        refused("PATCH", JSON_PATCH, add(nested(900)), "depth"), id="json-patch-value-nested-900"
    ),
    pytest.param(
        refused("PATCH", JSON_PATCH, add("[" * 900 + "]" * 900), "depth"),
        id="json-patch-array-nested-900",
    ),
    pytest.param(refused("PATCH", MERGE, nested(900).encode(), "depth"), id="merge-nested-900"),
    pytest.param(refused("PUT", JSON, b"[" * 200_000, "depth"), id="put-200k-open-brackets"),
    pytest.param(
        refused(
            "PATCH",
            JSON_PATCH,
            json.dumps(self_nesting_patch(12)).encode(),
            "depth",
            stored=b'{"a":[]}',
        ),
        id="json-patch-copies-nest-the-document-into-itself",
    ),
    # "on PostgreSQL, any document holding \u0000 or a lone surrogate in a
    # collection with a unique key" (held to the same domain on SQLite)
    pytest.param(
        refused("PUT", JSON, b'{"email": "a\\u0000b"}', "nul-character", keyed=True),
        id="keyed-put-nul",
    ),
    pytest.param(
        refused("POST", JSON, b'{"other": "\\u0000"}', "nul-character", keyed=True),
        id="keyed-post-nul-elsewhere",
    ),
    pytest.param(
        refused("PUT", JSON, b'{"email": "\\ud800"}', "lone-surrogate", keyed=True),
        id="keyed-put-surrogate",
    ),
    pytest.param(
        refused("PATCH", MERGE, b'{"email": "\\u0000"}', "nul-character", keyed=True),
        id="keyed-merge-nul",
    ),
    pytest.param(
        refused("PATCH", JSON_PATCH, add('"\\udfff"', "/email"), "lone-surrogate", keyed=True),
        id="keyed-json-patch-surrogate",
    ),
    pytest.param(
        refused("PUT", JSON, b'{"email": 0e-99999}', "number-exponent", keyed=True),
        id="keyed-zero-exponent-beyond-numeric",
    ),
    pytest.param(refused("PUT", JSON, b'{"\\u0000": 1}', "nul-character"), id="put-nul-name"),
    # "Not JSON stored: a merge patch {"x": 1e400} stores Infinity"
    pytest.param(refused("PATCH", MERGE, b'{"x": 1e400}', "number-range"), id="merge-1e400"),
    pytest.param(refused("PATCH", MERGE, b'{"x": -1e400}', "number-range"), id="merge-minus-1e400"),
    pytest.param(refused("PATCH", JSON_PATCH, add("1e400"), "number-range"), id="json-patch-1e400"),
    pytest.param(refused("PUT", JSON, b'{"x": 1e400}', "number-range"), id="put-1e400"),
    pytest.param(
        Case("PATCH", MERGE, b'{"n": 2}', 422, "invalid-document", stored=b'{"x":Infinity,"n":1}'),
        id="patch-stored-infinity",
    ),
    # "1e-400 and -0 silently change when patched"
    pytest.param(refused("PUT", JSON, b'{"x": 1e-400}', "number-range"), id="put-1e-400"),
    pytest.param(refused("PATCH", MERGE, b'{"x": 1e-400}', "number-range"), id="merge-1e-400"),
    pytest.param(
        refused("PUT", JSON, b'{"x": 0.10000000000000000001}', "number-precision"),
        id="put-beyond-double-precision",
    ),
    pytest.param(
        refused(
            "PATCH",
            MERGE,
            b'{"n": 2}',
            "number-precision",
            stored=b'{"x":1.00000000000000000001,"n":1}',
        ),
        id="patch-stored-beyond-double",
    ),
    # "Amplification: a 1 KB JSON Patch of 23 copy operations stored a 33.5 MB document"
    pytest.param(
        Case("PATCH", JSON_PATCH, self_copies(23), 413, "content-too-large"),
        id="json-patch-23-self-copies",
    ),
    pytest.param(
        Case("PATCH", JSON_PATCH, self_copies(24), 413, "content-too-large"),
        id="json-patch-24-self-copies",
    ),
    # Other ways in that are not JSON, or not a document.
    pytest.param(
        Case("PUT", JSON, b'{"a": 1, "a": 2}', 422, "invalid-document"), id="duplicate-name"
    ),
    pytest.param(Case("PUT", JSON, b'{"a": NaN}', 400, "malformed-json"), id="nan"),
    # An array index of more digits than int() reads (a ValueError, not a position).
    pytest.param(
        Case(
            "PATCH",
            JSON_PATCH,
            b'[{"op": "replace", "path": "/a/%s", "value": 1}]' % DIGITS_4301.encode(),
            409,
            "patch-not-applicable",
            stored=b'{"a":[1]}',
        ),
        id="json-patch-index-4301-digits",
    ),
    pytest.param(
        Case("PUT", JSON, b'{"a": "\xed\xa0\x80"}', 400, "malformed-json"),
        id="utf8-encoded-surrogate",
    ),
    pytest.param(
        Case("PUT", JSON, b'{"a": "\xc0\x80"}', 400, "malformed-json"), id="overlong-utf8-nul"
    ),
    pytest.param(Case("PUT", JSON, b'{"a": "\x00"}', 400, "malformed-json"), id="raw-nul"),
    pytest.param(
        Case("PUT", JSON, b'\xc2\xa0{"a": 1}', 400, "malformed-json"), id="nbsp-whitespace"
    ),
    pytest.param(
        Case("PUT", JSON, b'{"a":\x0b1}', 400, "malformed-json"), id="vertical-tab-whitespace"
    ),
]


@pytest.fixture(scope="module")
def keyed(watched: Watched) -> str:
    """A collection with a unique key on email."""
    name = f"keyed{uuid.uuid4().hex[:8]}"
    with watched.service.client() as client:
        response = client.put(
            f"/v1/_collections/{name}", json={"unique": ["email"]}, headers={"content-type": JSON}
        )
    assert response.status_code == 200, response.text
    return name


@pytest.mark.parametrize("case", CASES)
def test_refused_and_nothing_changed(
    case: Case, watched: Watched, http: httpx.Client, keyed: str
) -> None:
    """The hostile request is a 4xx problem naming the limit; the document is as it was."""
    collection = keyed if case.keyed else f"c{uuid.uuid4().hex[:12]}"
    url, etag = create(http, collection, b'{"email":"e%s","n":1}' % uuid.uuid4().hex.encode())
    if case.stored is not None:
        store_behind_its_back(watched.service, url, case.stored)
    before = snapshot(http, url)
    listed = http.get(f"/v1/{collection}?limit=1000").content
    target = f"/v1/{collection}" if case.method == "POST" else url
    headers = {"content-type": case.media_type}
    if case.method != "POST":
        headers["If-Match"] = etag
    response = http.request(case.method, target, content=case.body, headers=headers)
    problem = assert_refused(response)
    assert (response.status_code, problem["type"].rsplit("/", 1)[1]) == (case.status, case.slug)
    if case.limit is not None:
        assert problem["limit"] == case.limit, problem
    assert snapshot(http, url) == before
    assert http.get(f"/v1/{collection}?limit=1000").content == listed


def test_untouched_numbers_keep_their_value_through_a_patch(http: httpx.Client) -> None:
    """A PATCH rewrites the document, and every member it does not touch reads back as sent.

    Read as decimal numbers (as an exact reader would), with the sign of zero.
    """
    sent = (
        b'{"neg_zero": -0, "neg_zero_float": -0.0, "tenth": 0.1, "exp": 1E5, "padded": 2.50,'
        b' "tiny": 5e-324, "max": 1.7976931348623157e308, "big": 123456789012345678901234567890,'
        b' "zero_exp": 0e-9999, "n": 1}'
    )
    url, etag = create(http, f"c{uuid.uuid4().hex[:12]}", sent)
    patched = http.patch(
        url, content=b'{"n": 2}', headers={"content-type": MERGE, "If-Match": etag}
    )
    assert patched.status_code == 200, patched.text

    def exact(text: bytes) -> dict[str, Decimal]:
        value: dict[str, Decimal] = json.loads(text, parse_float=Decimal, parse_int=Decimal)
        return value

    before, after = exact(sent), exact(http.get(url).content)
    assert after.pop("n") == 2
    before.pop("n")
    assert after == before
    assert {name for name, number in after.items() if number.is_signed()} == {
        "neg_zero",
        "neg_zero_float",
    }


def test_a_patch_can_replace_a_value_outside_the_domain_only_by_put(
    watched: Watched, http: httpx.Client
) -> None:
    """A stored document from before the domain is refused by PATCH and replaced by PUT."""
    url, etag = create(http, f"c{uuid.uuid4().hex[:12]}")
    store_behind_its_back(watched.service, url, b'{"s":"\\ud800"}')
    refused = http.patch(
        url, content=b'{"s": "ok"}', headers={"content-type": MERGE, "If-Match": etag}
    )
    assert "stored document" in assert_refused(refused)["detail"]
    replaced = http.put(
        url, content=b'{"s": "ok"}', headers={"content-type": JSON, "If-Match": etag}
    )
    assert replaced.status_code == 200, replaced.text
    strict_json(http.get(url).content)


def test_a_key_over_stored_documents_outside_jsonb_is_a_422(
    watched: Watched, http: httpx.Client
) -> None:
    """Declaring a unique key over a stored U+0000 (which jsonb cannot hold) is a 422, not a 500."""
    collection = f"c{uuid.uuid4().hex[:12]}"
    url, _ = create(http, collection)
    store_behind_its_back(watched.service, url, b'{"email":"a\\u0000b"}')
    declared = http.put(
        f"/v1/_collections/{collection}", json={"unique": ["email"]}, headers={"content-type": JSON}
    )
    if watched.backend == "sqlite":
        # SQLite's JSON functions read the string (up to its U+0000): the key is declared.
        assert declared.status_code == 200, declared.text
    else:
        assert "replace" in assert_refused(declared)["detail"]
        assert http.get(f"/v1/_collections/{collection}").json()["unique"] == []


@pytest.mark.parametrize(
    "value", ["1" * 5000, "9" * 30, "\u00b2"], ids=["5000-digits", "30", "sup2"]
)
def test_query_numbers_past_any_limit_are_a_400(http: httpx.Client, value: str) -> None:
    """?limit= and ?before= of any length or digit kind are a 400 problem, never a 500."""
    collection = f"c{uuid.uuid4().hex[:12]}"
    url, _ = create(http, collection)
    asked = [
        (f"/v1/{collection}", "limit"),
        (f"{url}/versions", "limit"),
        (f"{url}/versions", "before"),
    ]
    for path, name in asked:
        response = http.get(path, params={name: value})
        assert response.status_code == 400, (path, name, response.text)
        assert assert_refused(response)["type"].endswith("/invalid-parameter")
