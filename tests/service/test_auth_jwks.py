"""RS256 JWTs verified from a JWKS file and from a JWKS URL (a real local server)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.problems import assert_problem

from .auth_helpers import JSON, SECRET, bearer, served


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwks(*keys: tuple[str, rsa.RSAPrivateKey]) -> str:
    """A JWKS of the public halves of `keys`, by key id."""
    found = []
    for kid, key in keys:
        jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
        found.append({**jwk, "kid": kid, "alg": "RS256", "use": "sig"})
    return json.dumps({"keys": found})


def rs256(key: rsa.RSAPrivateKey, kid: str, **claims: Any) -> str:
    payload = {"sub": "dana", "exp": int(time.time()) + 60, "roles": "writer ops", **claims}
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": kid})


def put(client: httpx.Client, token: str) -> httpx.Response:
    headers = {**JSON, "If-None-Match": "*", **bearer(token)}
    return client.put(f"/v1/notes-{uuid.uuid4().hex[:8]}/a", content=b"{}", headers=headers)


def test_a_jwks_file_verifies_rs256_and_pins_the_algorithm(tmp_path: Path) -> None:
    """RS256 from the file's key gets through; another key or audience, or HS256: 401."""
    signer, stranger = rsa_key(), rsa_key()
    keys = tmp_path / "jwks.json"
    keys.write_text(jwks(("k1", signer)))
    extra = ("--auth", "jwt", "--jwt-jwks", str(keys), "--jwt-audience", "notes")
    with served(str(tmp_path / "db"), tmp_path, *extra) as service, service.client() as client:
        assert put(client, rs256(signer, "k1", aud="notes")).status_code == 201
        assert_problem(put(client, rs256(signer, "k1", aud="other")), 401, "unauthorized")
        assert_problem(put(client, rs256(stranger, "k1", aud="notes")), 401, "unauthorized")
        assert_problem(put(client, rs256(signer, "k2", aud="notes")), 401, "unauthorized")
        # The classic confusion: HMAC keyed with the public key's text.
        hmac = jwt.encode(
            {"sub": "eve", "exp": int(time.time()) + 60, "aud": "notes"},
            SECRET,
            algorithm="HS256",
            headers={"kid": "k1"},
        )
        body = assert_problem(put(client, hmac), 401, "unauthorized")
        assert "algorithm" in body["detail"]
        lines = service.wait_for_log(lambda r: r["status"] == 201)
        assert [line["principal"] for line in lines] == ["jwt:dana"]


class _Keys(BaseHTTPRequestHandler):
    body = b""
    fetches = 0

    def do_GET(self) -> None:
        type(self).fetches += 1
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def key_server() -> Iterator[tuple[str, type[_Keys]]]:
    """A JWKS served over HTTP on 127.0.0.1 by a thread of this test."""
    handler = type("Keys", (_Keys,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/jwks.json", handler
    finally:
        server.shutdown()
        server.server_close()


def test_a_jwks_url_is_fetched_once_and_again_for_a_new_key(
    tmp_path: Path, key_server: tuple[str, type[_Keys]]
) -> None:
    """Keys come from the URL, kept between requests; a rotated-in key id fetches the set again."""
    url, handler = key_server
    first, second = rsa_key(), rsa_key()
    handler.body = jwks(("k1", first)).encode()
    extra = ("--auth", "jwt", "--jwt-jwks", url)
    with served(str(tmp_path / "db"), tmp_path, *extra) as service, service.client() as client:
        for _ in range(3):
            assert put(client, rs256(first, "k1")).status_code == 201
        assert handler.fetches == 1
        handler.body = jwks(("k1", first), ("k2", second)).encode()
        time.sleep(10.5)  # the cooldown between fetches for unknown key ids
        assert put(client, rs256(second, "k2")).status_code == 201
        assert handler.fetches == 2
        assert_problem(put(client, rs256(rsa_key(), "k3")), 401, "unauthorized")
        assert handler.fetches == 2  # within the cooldown: no fetch for a made-up key id
