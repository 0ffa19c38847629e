"""Request targets fold into route templates: ids become {id}, the query goes."""

from __future__ import annotations

import random
import string

import pytest

from httpconflict.tools.logs.routes import route_template


@pytest.mark.parametrize(
    ("target", "route"),
    [
        pytest.param("/v1/notes/42", "/v1/notes/{id}", id="number"),
        pytest.param("/v1/notes/42?expand=body&ts=9", "/v1/notes/{id}", id="query-dropped"),
        pytest.param("/v1/notes/42#top", "/v1/notes/{id}", id="fragment-dropped"),
        pytest.param("/v1/notes?page=2", "/v1/notes", id="query-on-a-collection"),
        pytest.param("/v1/users/0b5f9c8e-1d7a-4c1e-9b3a-2f6e8d4c7a10", "/v1/users/{id}", id="uuid"),
        pytest.param(
            "/v1/users/0B5F9C8E-1D7A-4C1E-9B3A-2F6E8D4C7A10", "/v1/users/{id}", id="uuid-upper"
        ),
        pytest.param(
            "/v1/users/0b5f9c8e1d7a4c1e9b3a2f6e8d4c7a10", "/v1/users/{id}", id="uuid-no-dashes"
        ),
        pytest.param("/v1/blobs/5f3a9c2e7b1d4e6f8a0b2c4d", "/v1/blobs/{id}", id="object-id"),
        pytest.param("/git/commits/9fceb02d", "/git/commits/{id}", id="short-sha"),
        pytest.param(
            "/v1/sessions/01ARZ3NDEKTSV4RRFFQ69G5FAV/refresh",
            "/v1/sessions/{id}/refresh",
            id="ulid",
        ),
        pytest.param("/v1/customers/cus_NffrFeUfNV2Hib", "/v1/customers/{id}", id="stripe-id"),
        pytest.param("/t/dGhpcyBp3yBhIHRva2Vu", "/t/{id}", id="base64url-token"),
        pytest.param("/v1/exports/42.csv", "/v1/exports/{id}.csv", id="id-with-extension"),
        pytest.param("/orgs/7/repos/91/issues/3", "/orgs/{id}/repos/{id}/issues/{id}", id="nested"),
        pytest.param("/api/v1/notes", "/api/v1/notes", id="version-stays"),
        pytest.param("/blog/deadbeef", "/blog/deadbeef", id="hex-word-without-digit-stays"),
        pytest.param("/docs/release-notes-2024", "/docs/release-notes-2024", id="slug-stays"),
        pytest.param("/rpc/getUserProfileSettings", "/rpc/getUserProfileSettings", id="camel"),
        pytest.param("/v1/notes/a1b2", "/v1/notes/a1b2", id="short-mixed-stays"),
        pytest.param("/static/app.min.js", "/static/app.min.js", id="file-name-stays"),
        pytest.param("/v1/notes/", "/v1/notes/", id="trailing-slash-kept"),
        pytest.param("/", "/", id="root"),
        pytest.param("http://example.com/v1/notes/42?x", "/v1/notes/{id}", id="absolute-form"),
        pytest.param("https://example.com", "/", id="absolute-form-no-path"),
        pytest.param("*", "*", id="asterisk-form"),
        pytest.param("-", "-", id="no-request-line"),
        pytest.param("/v1/notes/١٢٣", "/v1/notes/١٢٣", id="non-ascii-digits-stay"),
    ],
)
def test_route_template(target: str, route: str) -> None:
    """Each case folds as the routes module's docstring says."""
    assert route_template(target) == route


def _random_ids(alphabet: str, length: int, prefix: str = "", count: int = 2000) -> list[str]:
    chooser = random.Random(f"{prefix}{alphabet}{length}")
    return [prefix + "".join(chooser.choice(alphabet) for _ in range(length)) for _ in range(count)]


BASE62 = string.ascii_letters + string.digits
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


@pytest.mark.parametrize(
    ("ids", "at_least"),
    [
        pytest.param(_random_ids(CROCKFORD, 23, "01J"), 1.0, id="ulid"),  # 95.4% before
        pytest.param(_random_ids(BASE62, 14, "cus_"), 0.96, id="stripe"),  # 91.3% before
        pytest.param(_random_ids(BASE62 + "_-", 21), 0.99, id="nanoid"),  # 97.2% before
        pytest.param(_random_ids(string.ascii_lowercase + string.digits, 24), 0.92, id="cuid2"),
        pytest.param(_random_ids(BASE62 + "_-", 11), 0.7, id="base64url-11"),  # 0% before
    ],
)
def test_random_ids_collapse(ids: list[str], at_least: float) -> None:
    """Ids of the usual generators fold into {id}, so that one route is one row (a route with
    21 conflicts fell out of the top 10, split into rows of one id each)."""
    folded = sum(route_template(f"/v1/things/{i}") == "/v1/things/{id}" for i in ids)
    assert folded / len(ids) >= at_least


@pytest.mark.parametrize(
    "segment",
    [
        "release-notes-2024",
        "getUserProfileSettings2",  # an {id} before
        "v2AccountSettings",  # an {id} before
        "iphone15promax",
        "win10-pro-x64",
        "mp3-files-2024",
        "ubuntu-22.04-server",
        "oauth2-callback-url",
        "getAllUsersByOrganization",
        "how-to-write-good-code",
    ],
)
def test_words_with_digits_stay(segment: str) -> None:
    assert route_template(f"/v1/{segment}") == f"/v1/{segment}"


def test_an_issue_key_collapses() -> None:
    assert route_template("/browse/PROJ-1234") == "/browse/{id}"


def test_a_url_inside_a_path_is_part_of_it() -> None:
    """Only a target that starts with a scheme is absolute-form: a path holding "://" keeps
    what comes before (``/proxy/http://...`` was read as the URL's own path)."""
    assert route_template("http://example.com/v1/notes/42") == "/v1/notes/{id}"
    assert route_template("/proxy/http://example.com/a") == "/proxy/http://example.com/a"
