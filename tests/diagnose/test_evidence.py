"""Reading what users paste: statuses only from the forms that state them, JSON made plain."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from httpconflict.tools.diagnose.evidence import read
from httpconflict.tools.diagnose.matching import diagnose


@pytest.mark.parametrize(
    ("text", "statuses", "urls"),
    [
        pytest.param("HTTP/1.1 409 Conflict\n", (409,), (), id="status-line"),
        pytest.param('< HTTP/2 412\n< etag: "x"\n', (412,), (), id="curl-v"),
        pytest.param(
            "requests.exceptions.HTTPError: 409 Client Error: Conflict for url: https://a.test/x",
            (409,),
            ("https://a.test/x",),
            id="requests",
        ),
        pytest.param(
            "httpx.HTTPStatusError: Client error '428 Precondition Required' for url 'https://a.test/y'",
            (428,),
            ("https://a.test/y",),
            id="httpx",
        ),
        pytest.param(
            "docker.errors.APIError: 409 Client Error for http+docker://localhost/v1/x: Conflict",
            (409,),
            ("http+docker://localhost/v1/x",),
            id="docker-py",
        ),
        pytest.param("kubernetes.client.exceptions.ApiException: (409)\n", (409,), (), id="k8s"),
        pytest.param("AxiosError: Request failed with status code 409", (409,), (), id="axios"),
        pytest.param('{"title": "x", "status": 412, "type": "about:blank"}', (412,), (), id="json"),
        pytest.param('{"message": "Merge conflict", "status": "409"}', (409,), (), id="json-str"),
        pytest.param("Room 409 is booked; see HTTP 409 in RFC 9110.", (), (), id="prose"),
        pytest.param("GET /items/409 HTTP/1.1", (), (), id="request-line"),
        pytest.param('{"uptime": 409, "status": "ok"}', (), (), id="json-not-status"),
    ],
)
def test_statuses_come_from_forms_that_state_them(
    text: str, statuses: tuple[int, ...], urls: tuple[str, ...]
) -> None:
    """A status is read from a status line, a client's error message or a JSON member only."""
    evidence = read(text)
    assert evidence.statuses == statuses
    assert evidence.urls == urls


def test_json_strings_are_matched_as_they_read() -> None:
    """An escaped message inside a JSON body is flattened to a plain `path: value` line."""
    body = {"message": 'Operation cannot be fulfilled on pods "a": x', "details": {"kind": "pods"}}
    evidence = read("HTTP response body: " + json.dumps(body))
    assert 'message: Operation cannot be fulfilled on pods "a": x' in evidence.text.splitlines()
    assert "details.kind: pods" in evidence.text.splitlines()


@pytest.mark.parametrize(
    ("text", "line"),
    [
        pytest.param(
            "IntegrityError('(1062, \"Duplicate entry \\'7\\' for key \\'PRIMARY\\'\")')",
            "Duplicate entry '7' for key 'PRIMARY'",
            id="repr-escaped-quotes",
        ),
        pytest.param(
            "Error 1062: Duplicate entry \u2018a\u2019 for key \u2018b\u2019",
            "Duplicate entry 'a' for key 'b'",
            id="typographic-quotes",
        ),
        pytest.param(
            'incorrect): <a href="#4">app.Term#4</a><br/>',
            "incorrect): app.Term#4",
            id="inline-html",
        ),
    ],
)
def test_wrapped_lines_are_read_unwrapped(text: str, line: str) -> None:
    """A line wrapped in a repr, typographic quotes or HTML is appended as its system printed it."""
    lines = read(text).text.splitlines()
    assert lines[0] == text
    assert any(line in each for each in lines[1:])


def test_json_escaped_in_a_string_is_flattened() -> None:
    """A JSON body escaped inside another JSON string (a client's log) is parsed and flattened."""
    inner = json.dumps({"error": {"type": "version_conflict_engine_exception", "index": "shop"}})
    text = 'x","statusCode":409,"response":' + json.dumps(inner) + "},"
    assert "error.index: shop" in read(text).text.splitlines()


def test_terminal_colours_and_line_ends_are_cleaned() -> None:
    """ANSI colour codes and CRLF line ends do not hide a message."""
    evidence = read('\x1b[31mHTTP/1.1 409 Conflict\x1b[0m\r\nETag: "a"\r\n\r\n')
    assert evidence.statuses == (409,)
    assert evidence.headers == ('etag: "a"',)


def _har(*entries: tuple[int, str, dict[str, str]]) -> str:
    return json.dumps(
        {
            "log": {
                "version": "1.2",
                "entries": [
                    {
                        "request": {"method": "PUT", "url": f"https://a.test/{i}", "headers": []},
                        "response": {
                            "status": status,
                            "statusText": "",
                            "httpVersion": "h2",
                            "headers": [{"name": "Content-Type", "value": "application/json"}],
                            "content": {"mimeType": "application/json", **content},
                        },
                    }
                    for i, (status, _, content) in enumerate(entries)
                ],
            }
        }
    )


def test_a_har_file_gives_its_failed_exchanges() -> None:
    """Only failed requests of a HAR are read; base64 bodies are decoded."""
    body = base64.b64encode(b'{"error":"conflict","reason":"Document update conflict."}')
    har = _har(
        (200, "ok", {"text": '{"error": "Document update conflict"}'}),
        (409, "conflict", {"text": body.decode(), "encoding": "base64"}),
    )
    evidence = read(har)
    assert evidence.forms[0] == "HAR file (2 requests, 1 failed)"
    assert evidence.statuses == (409,)
    assert evidence.urls == ("https://a.test/1",)
    assert "content-type: application/json" in evidence.headers
    best = diagnose(har).best
    assert best is not None
    assert best.entry.id == "couchdb-document-update-conflict"


def test_problem_details_are_found_with_their_type() -> None:
    """A problem+json body gives its type URI and members."""
    evidence = read('{"type": "https://example.test/p/x", "title": "X", "status": 409, "n": 1}')
    assert evidence.problem_types == ("https://example.test/p/x",)
    assert evidence.problems[0]["n"] == 1


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=400))
def test_any_text_gets_an_answer(text: str) -> None:
    """Whatever is pasted, diagnose answers (recognised or not) and never fails."""
    diagnosis = diagnose(text)
    assert isinstance(diagnosis.to_dict()["recognised"], bool)


@settings(max_examples=40, deadline=None)
@given(
    st.recursive(
        st.none() | st.integers() | st.text(max_size=20),
        lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
        max_leaves=20,
    )
)
def test_any_json_gets_an_answer(value: object) -> None:
    """Any JSON document, a HAR-shaped one included, is read without failing."""
    for document in (value, {"log": {"entries": [value]}}, {"log": value}):
        diagnose(json.dumps(document))


def test_a_failed_brace_costs_what_was_read_after_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each ``{`` is tried on a piece of the text from it, grown only for a long object: a
    failed try never hands the decoder the text before it, whose lines its error counts."""
    tries: list[tuple[str, int]] = []
    decode = json.JSONDecoder.raw_decode

    def recorded(self: json.JSONDecoder, s: str, idx: int = 0) -> tuple[object, int]:
        tries.append((s[:idx], len(s)))
        return decode(self, s, idx)

    monkeypatch.setattr(json.JSONDecoder, "raw_decode", recorded)
    junk = "".join(chr(32 + (i * 7919) % 95) for i in range(200_000))
    big = json.dumps({"status": 409, "detail": "x" * 20_000, "type": "about:blank"})
    evidence = read(junk + "\n" + big + "\n")
    assert len(tries) > 1_000
    # json.loads skips leading whitespace itself; nothing else comes before a try.
    assert {before.strip() for before, _ in tries} == {""}
    # Only the big object grows its piece (and json.loads reads the whole input once).
    assert len([size for _, size in tries if size > 4096]) <= 3
    assert "status: 409" in evidence.text


@pytest.mark.parametrize("entries", ["null", "5", '"ab"', "{}"])
def test_a_har_whose_entries_are_no_list_is_read_as_empty(entries: str) -> None:
    """A HAR-shaped JSON whose ``log.entries`` is null, a number, a string or an object is a HAR
    of no requests (it raised TypeError; hypothesis found the null)."""
    evidence = read(f'{{"log": {{"entries": {entries}}}}}')
    assert evidence.forms[0] == "HAR file (0 requests, 0 failed)"
