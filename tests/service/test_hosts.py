"""The real service answers only for its own hosts, and lets only listed origins call it by CORS."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.problems import assert_problem
from tests.servers import ServiceProcess, start_service

JSON = {"content-type": "application/json"}
APP = "https://app.example.com"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """The service as started without options (loopback, default hosts, no CORS)."""
    tmp = tmp_path_factory.mktemp("hosts")
    with start_service(str(tmp / "hosts.db"), tmp) as running:
        yield running


def raw(service: ServiceProcess, request: bytes) -> tuple[int, bytes]:
    """Send `request` as written on a new connection; the answer's status and body."""
    address = urlsplit(service.url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        sock.sendall(request)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    assert b"content-type: application/problem+json" in head.lower() or b" 200 " in head
    return int(head.split(b" ")[1]), body


def test_a_foreign_host_reads_and_writes_nothing(service: ServiceProcess) -> None:
    """A rebinding page's Host gets 421 for reads and writes; its write is not applied."""
    with service.client() as http:
        created = http.put(
            "/v1/secret/a",
            content=b'{"ssn": "078-05-1120"}',
            headers={**JSON, "If-None-Match": "*"},
        )
        assert created.status_code == 201
        foreign = {"Host": "evil.example:8000"}
        for method, path, extra in [
            ("GET", "/v1/secret/a", {}),
            ("GET", "/v1/secret", {}),
            ("GET", "/v1/secret/a/versions", {}),
            ("PUT", "/v1/secret/b", {"If-None-Match": "*"}),
            ("DELETE", "/v1/secret/a", {"If-Match": created.headers["etag"]}),
            ("GET", "/healthz", {}),
        ]:
            answer = http.request(
                method, path, content=b'{"x": 1}', headers={**JSON, **foreign, **extra}
            )
            problem = assert_problem(answer, 421, "host-not-allowed")
            assert problem["host"] == "evil.example:8000"
            assert "078-05-1120" not in answer.text
        assert http.get("/v1/secret/a").json() == {"ssn": "078-05-1120"}
        assert http.get("/v1/secret/b").status_code == 404
    logged = service.wait_for_log(lambda r: r["status"] == 421)
    assert logged[0]["problem"] == "host-not-allowed"


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST:1", "127.0.0.1:9", "[::1]:80"])
def test_loopback_names_with_any_port_are_answered(service: ServiceProcess, host: str) -> None:
    """The names a local client uses all reach the service."""
    with service.client() as http:
        assert http.get("/healthz", headers={"Host": host}).status_code == 200


def test_the_host_of_an_absolute_target_is_the_one_checked(service: ServiceProcess) -> None:
    """RFC 9112 §3.2.2: GET http://evil/... is refused whatever its Host field says."""
    status, body = raw(
        service, b"GET http://evil.example/healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"
    )
    assert status == 421
    assert b"evil.example" in body
    status, _ = raw(
        service,
        b"GET http://localhost/healthz HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n",
    )
    assert status == 200


@pytest.mark.parametrize(
    "head",
    [
        pytest.param(b"GET /healthz HTTP/1.0\r\n\r\n", id="no-host"),
        pytest.param(
            b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nHost: localhost\r\n\r\n", id="two"
        ),
        pytest.param(b"GET /healthz HTTP/1.1\r\nHost: local host\r\n\r\n", id="not-a-host"),
    ],
)
def test_a_missing_doubled_or_broken_host_is_a_400(service: ServiceProcess, head: bytes) -> None:
    """RFC 9112 §3.2: a 400 malformed-header problem naming the Host field."""
    status, body = raw(service, head.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
    assert status == 400
    assert b'"header":"Host"' in body
    assert b"malformed-header" in body


def test_allowed_hosts_add_names_and_star_allows_any(tmp_path: Path) -> None:
    """--allowed-host adds a name (any port); '*' lets every Host through."""
    db = str(tmp_path / "allowed.db")
    with (
        start_service(db, tmp_path, extra=("--allowed-host", "api.example.com")) as named,
        named.client() as http,
    ):
        assert http.get("/healthz", headers={"Host": "api.example.com:443"}).status_code == 200
        assert http.get("/healthz", headers={"Host": "localhost"}).status_code == 200
        assert http.get("/healthz", headers={"Host": "example.com"}).status_code == 421
    with (
        start_service(db, tmp_path, extra=("--allowed-host", "*")) as anything,
        anything.client() as http,
    ):
        assert http.get("/healthz", headers={"Host": "evil.example"}).status_code == 200


def test_cors_is_off_by_default(service: ServiceProcess) -> None:
    """No origin is granted anything: a preflight is not answered with CORS headers."""
    with service.client() as http:
        preflight = http.options(
            "/v1/notes/a", headers={"Origin": APP, "Access-Control-Request-Method": "PUT"}
        )
        assert preflight.status_code == 405
        read = http.get("/healthz", headers={"Origin": APP})
    for answer in (preflight, read):
        assert not any(name.startswith("access-control-") for name in answer.headers)


@pytest.fixture(scope="module")
def cors_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    tmp = tmp_path_factory.mktemp("cors")
    with start_service(str(tmp / "cors.db"), tmp, extra=("--cors-origin", APP)) as running:
        yield running


def test_a_listed_origin_passes_a_real_preflight(cors_service: ServiceProcess) -> None:
    """A PUT with If-Match, a key and a token from the listed origin is allowed, without cookies."""
    with cors_service.client() as http:
        answer = http.options(
            "/v1/notes/a",
            headers={
                "Origin": APP,
                "Access-Control-Request-Method": "PUT",
                "Access-Control-Request-Headers": "authorization, content-type, if-match, "
                "idempotency-key, prefer",
            },
        )
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == APP
    assert "PUT" in answer.headers["access-control-allow-methods"]
    allowed = answer.headers["access-control-allow-headers"].lower()
    for header in ("authorization", "if-match", "if-none-match", "idempotency-key", "prefer"):
        assert header in allowed
    assert "access-control-allow-credentials" not in answer.headers


def test_a_listed_origin_may_resume_the_change_feed(cors_service: ServiceProcess) -> None:
    """A page reading the feed with fetch() sends Authorization and, to resume, Last-Event-ID."""
    with cors_service.client() as http:
        answer = http.options(
            "/v1/notes/_changes",
            headers={
                "Origin": APP,
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "authorization, last-event-id",
            },
        )
        resumed = http.get(
            "/v1/notes/_changes",
            headers={"Origin": APP, "Last-Event-ID": "0", "Accept": "application/json"},
        )
    assert answer.status_code == 200, answer.text
    assert "last-event-id" in answer.headers["access-control-allow-headers"].lower()
    assert resumed.status_code == 200, resumed.text
    assert resumed.headers["access-control-allow-origin"] == APP


def test_a_listed_origin_reads_the_headers_it_needs(cors_service: ServiceProcess) -> None:
    """ETag, Location and the rest are exposed to the page; other origins get no grant."""
    with cors_service.client() as http:
        created = http.post("/v1/notes", content=b"{}", headers={**JSON, "Origin": APP})
        other = http.get("/healthz", headers={"Origin": "https://evil.example"})
    assert created.status_code == 201
    assert created.headers["access-control-allow-origin"] == APP
    exposed = created.headers["access-control-expose-headers"].lower()
    for header in ("etag", "location", "rebased-from", "idempotent-replayed", "retry-after"):
        assert header in exposed
    assert "access-control-allow-origin" not in other.headers


def test_a_refused_preflight_is_a_problem(cors_service: ServiceProcess) -> None:
    """An unlisted origin or header gets a 400 cors-not-allowed naming what was refused."""
    with cors_service.client() as http:
        answer = http.options(
            "/v1/notes/a",
            headers={
                "Origin": "https://evil.example",
                "Access-Control-Request-Method": "PUT",
                "Access-Control-Request-Headers": "x-custom",
            },
        )
    problem = assert_problem(answer, 400, "cors-not-allowed")
    assert problem["refused"] == ["origin", "headers"]
    assert "access-control-allow-origin" not in answer.headers
    logged = cors_service.wait_for_log(lambda r: r["status"] == 400)
    assert logged[0]["problem"] == "cors-not-allowed"


def test_a_client_on_the_default_host_is_unaffected(service: ServiceProcess) -> None:
    """httpx's Host (127.0.0.1:port) is the common case: answered as before."""
    with httpx.Client(base_url=service.url) as http:
        assert http.get("/healthz").status_code == 200
