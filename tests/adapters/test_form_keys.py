"""Idempotency keys in HTML forms' hidden fields, through the ASGI middleware in a server.

The WSGI middleware is tested the same way by the Django admin project
(tests/adapters/test_django_forms.py: a double-clicked Save).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from httpconflict import InvalidParameter
from httpconflict._form_keys import form_submission, new_form_key
from tests.adapters.form_orders import MAX_BODY
from tests.at_once import at_once
from tests.problems import assert_problem
from tests.servers import start_app


@pytest.fixture(scope="module")
def orders(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    log_dir = tmp_path_factory.mktemp("form-orders")
    with (
        start_app("tests.adapters.form_orders:create_app", log_dir, probe="/orders/count") as url,
        httpx.Client(base_url=url, timeout=30) as http,
    ):
        yield http


def _made(http: httpx.Client) -> int:
    return int(http.get("/orders/count").text)


def _twice(http: httpx.Client, **request: Any) -> list[httpx.Response]:
    """The same POST sent twice at the same moment (a double click)."""
    return at_once(lambda: http.post("/orders", **request))


def _one_order(before: int, http: httpx.Client, answers: list[httpx.Response]) -> None:
    assert [a.status_code for a in answers] == [303, 303]
    assert answers[0].headers["location"] == answers[1].headers["location"]
    assert sorted(a.headers.get("idempotent-replayed", "") for a in answers) == ["", "true"]
    assert _made(http) == before + 1


def test_a_double_clicked_urlencoded_form_makes_one_order(orders: httpx.Client) -> None:
    before = _made(orders)
    form = {"item": "tea", "idempotency_key": new_form_key()}
    _one_order(before, orders, _twice(orders, data=form))


def test_a_double_clicked_multipart_form_with_a_file_makes_one_order(
    orders: httpx.Client,
) -> None:
    before = _made(orders)
    form = {"item": "tea", "idempotency_key": new_form_key()}
    files = {"receipt": ("r.txt", b"paid\r\n--not-a-boundary\r\n", "text/plain")}
    _one_order(before, orders, _twice(orders, data=form, files=files))


def test_the_same_page_sent_again_edited_is_another_order(orders: httpx.Client) -> None:
    """Back, change a field, save: the user meant a second order, not a 422."""
    key = new_form_key()
    before = _made(orders)
    first = orders.post("/orders", data={"item": "tea", "idempotency_key": key})
    second = orders.post("/orders", data={"item": "coffee", "idempotency_key": key})
    assert (first.status_code, second.status_code) == (303, 303)
    assert first.headers["location"] != second.headers["location"]
    assert _made(orders) == before + 2


def test_forms_without_the_field_and_uploads_past_the_limit_run_unkeyed(
    orders: httpx.Client,
) -> None:
    """No key to read: each request runs, as without the middleware (no 413 for an upload)."""
    before = _made(orders)
    _twice(orders, data={"item": "tea"})
    big = {"receipt": ("r.bin", b"x" * (MAX_BODY + 1), "application/octet-stream")}
    answers = _twice(orders, data={"idempotency_key": new_form_key()}, files=big)
    assert [a.status_code for a in answers] == [303, 303]
    assert _made(orders) == before + 4


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ("idempotency_key=short", "is not a key its page made"),
        ("idempotency_key=" + "é" * 20, "is not a key its page made"),
        (f"idempotency_key={'a' * 20}&idempotency_key={'b' * 20}", "more than once"),
    ],
)
def test_a_key_no_page_made_is_a_400_and_nothing_runs(
    orders: httpx.Client, body: str, detail: str
) -> None:
    before = _made(orders)
    answer = orders.post(
        "/orders", content=body, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert_problem(answer, 400, "invalid-parameter")
    assert detail in answer.json()["detail"]
    assert answer.json()["parameter"] == "idempotency_key"
    assert _made(orders) == before


def _key(content_type: str, body: bytes) -> str | None:
    found = form_submission(content_type, body, "idempotency_key")
    return None if found is None else found.key


def test_the_key_is_the_field_and_the_form_s_fields() -> None:
    """Read from either encoding, whatever the boundary; a file of the same name is not it."""
    key = new_form_key()
    urlencoded = "application/x-www-form-urlencoded"
    plain = f"a=1&idempotency_key={key}".encode()
    assert _key(urlencoded, plain) == _key(urlencoded, plain)
    assert (_key(urlencoded, plain) or "").startswith(key + ".")
    assert _key(urlencoded, plain + b"&b=2") != _key(urlencoded, plain)
    assert _key("application/json", plain) is None

    def multipart(receipt: bytes) -> tuple[str, bytes]:
        request = httpx.Request(
            "POST",
            "http://x/",
            data={"idempotency_key": key, "a": "1"},
            files={
                "idempotency_key": ("k.txt", b"not the key", "text/plain"),
                "receipt": ("r.txt", receipt, "text/plain"),
            },
        )
        return request.headers["content-type"], request.read()

    (first_type, first), (second_type, second) = multipart(b"paid"), multipart(b"paid")
    assert first_type != second_type  # a new boundary for each request, as browsers draw
    assert (_key(first_type, first) or "").startswith(key + ".")
    assert _key(first_type, first) == _key(second_type, second)
    assert _key(first_type, first) != _key(*multipart(b"unpaid"))
    assert _key("multipart/form-data; boundary=x", b"garbage") is None
    with pytest.raises(InvalidParameter):
        _key(urlencoded, b"idempotency_key=")


def test_a_page_s_csrf_token_is_not_part_of_its_submission() -> None:
    """The page fetched again by Back: the same fields with another token are the same key."""
    key = new_form_key()
    urlencoded = "application/x-www-form-urlencoded"

    def sent(token: str, title: str = "a") -> bytes:
        return f"csrfmiddlewaretoken={token}&title={title}&idempotency_key={key}".encode()

    assert _key(urlencoded, sent("first")) == _key(urlencoded, sent("second"))
    assert _key(urlencoded, sent("first")) != _key(urlencoded, sent("first", "b"))

    def multipart(token: str, title: str = "a") -> tuple[str, bytes]:
        fields = {"csrfmiddlewaretoken": token, "title": title, "idempotency_key": key}
        files = {"file": ("r.txt", b"paid", "text/plain")}
        request = httpx.Request("POST", "http://x/", data=fields, files=files)
        return request.headers["content-type"], request.read()

    assert _key(*multipart("first")) == _key(*multipart("second"))
    assert _key(*multipart("first")) != _key(*multipart("first", "b"))


def test_hostile_multipart_bodies_are_no_form_and_cost_one_pass() -> None:
    """Nested multiparts (the email parser's recursion overflowed), 90,000 empty parts."""
    nested = b"".join(
        b'--b%d\r\nContent-Disposition: form-data; name="n"\r\n'
        b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n" % (i, i + 1)
        for i in range(3000)
    )
    assert _key("multipart/form-data; boundary=b0", nested) is None
    empty = b"--b\r\n\r\n\r\n" * 90_000 + b"--b--"
    assert _key("multipart/form-data; boundary=b", empty) is None
    headless = b'--b\r\nContent-Disposition: form-data; name="idempotency_key"'
    assert _key("multipart/form-data; boundary=b", headless) is None
    # A quoted boundary (RFC 2046 allows spaces in one), the key found in its parts.
    key = new_form_key()
    quoted = b'--a b\r\nContent-Disposition: form-data; name="idempotency_key"\r\n\r\n'
    found = _key('multipart/form-data; boundary="a b"', quoted + key.encode() + b"\r\n--a b--")
    assert (found or "").startswith(key + ".")
