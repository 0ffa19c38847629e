"""Statuses in every form people paste them, and numbers that are not statuses."""

from __future__ import annotations

import pytest

from httpconflict.tools.diagnose.evidence import read


@pytest.mark.parametrize(
    ("text", "status"),
    [
        pytest.param("[DEBUG] http-outgoing-1 << HTTP/1.1 409 Conflict", 409, id="wire-log"),
        pytest.param('127.0.0.1 - - [02/Jun/2015] "GET / HTTP/1.1" 500 -', 500, id="access-log"),
        pytest.param("ERROR Response code 409 (Conflict)", 409, id="got-response-code"),
        pytest.param('Status code 412, "<?xml version="1.0"?>', 412, id="azure-java"),
        pytest.param("storage: service returned error: StatusCode=409, ErrorCode=X", 409, id="go"),
        pytest.param("ErrorName=StorageError ErrorHTTPStatusCode=412", 412, id="camel-glued"),
        pytest.param(r'{"e": "x\nHttp - 409 Conflict\nError: {"}', 409, id="escaped-line-break"),
        pytest.param("Status Code: 400; Error Code: Throttled", 400, id="aws-java"),
        pytest.param("https response error StatusCode: 409, RequestID: 2773", 409, id="aws-go"),
        pytest.param("Return code is: 409, ReasonPhrase: Conflict.", 409, id="maven"),
        pytest.param("Transfer failed for https://r/x.jar, status: 409 -> [Help 1]", 409, id="m2"),
        pytest.param("Received status code 409 from server: Conflict", 409, id="gradle"),
        pytest.param("Failed to deploy file: HTTP response code: 409.", 409, id="http-code"),
        pytest.param(
            "urllib.error.HTTPError: HTTP Error 412: Precondition Failed", 412, id="urllib"
        ),
        pytest.param(
            "root[main] Could not download class: HTTP Error 409: CONFLICT", 409, id="upper"
        ),
        pytest.param("HTTP 422: Validation Failed (https://api.github.com/x)", 422, id="gh"),
        pytest.param("gh: Resource not accessible by integration (HTTP 403)", 403, id="gh-paren"),
        pytest.param("googleapi: Error 409: Requested entity already exists", 409, id="google"),
        pytest.param("ERROR 409: Conflict.", 409, id="wget"),
        pytest.param("The remote server returned an error: (409) Conflict.", 409, id="dotnet"),
        pytest.param("does not indicate success: 409 (Conflict - The feed)", 409, id="nuget"),
        pytest.param("StatusCode: 412, ReasonPhrase: 'Precondition Failed'", 412, id="net-resp"),
        pytest.param("status code: 409, reason phrase: Conflict (409)", 409, id="phrase-paren"),
        pytest.param("SardineException: Unexpected response (409 Conflict)", 409, id="sardine"),
        pytest.param('The server returned a "409 Conflict".', 409, id="symfony"),
        pytest.param("Status: 412 (There is currently a lease on the blob.)", 412, id="status"),
        pytest.param("PHP Fatal error: message 'Status code 409'", 409, id="php"),
        pytest.param("[status code] 409\n[reason phrase] Conflict", 409, id="guzzle3"),
        pytest.param("HTTP code is 409 which indicates error: undefined", 409, id="modem"),
        pytest.param("npm ERR! code E403", 403, id="npm-code"),
        pytest.param("npm ERR! publish Failed PUT 403", 403, id="npm-old"),
        pytest.param("GET https://a.test/git/refs/heads/main 409 (Conflict)", 409, id="console"),
        pytest.param("POST /repos/o/r/merge-upstream - 409 in 1071ms", 409, id="octokit-log"),
        pytest.param(
            "POST http://gh.test/api/v3/authorizations: 401: Bad credentials", 401, id="rb"
        ),
        pytest.param("returned unexpected status: 409; error info: {}", 409, id="goose"),
        pytest.param("POSTing to it sometimes fails with a 409 and an error", 409, id="prose"),
        pytest.param('"error": "[409] {\\"status\\":409}"', 409, id="escaped-json"),
        pytest.param('{"errors": [{"status": 409, "message": "rejected"}]}', 409, id="nested"),
        pytest.param('{"kind": "Status", "code": 409}', 409, id="k8s-status"),
        pytest.param('{"error": {"code": 409, "message": "x"}}', 409, id="json-code"),
        pytest.param(
            "A conflict happened while processing the request.  The resource might have been",
            409,
            id="werkzeug-text",
        ),
        pytest.param("PreconditionFailedError: Precondition Failed", 412, id="http-errors"),
        pytest.param("<Error><Code>PreconditionFailed</Code></Error>", 412, id="s3-code"),
        pytest.param("RequestError\nPrecondition Failed [412]", 412, id="google-dotnet"),
        pytest.param(
            "[WARN ][logstash.outputs.elasticsearch] Failed action {:status=>409, :action=>[",
            409,
            id="ruby-hash",
        ),
        pytest.param('{"status"=>409, "error"=>{"type"=>"x"}}', 409, id="ruby-string-key"),
        pytest.param(
            "EsHadoopInvalidRequest: Found unrecoverable error [Conflict(409)", 409, id="glued"
        ),
    ],
)
def test_a_status_is_read_in_every_form(text: str, status: int) -> None:
    """Each form a client, a server log or a framework states a status in is read."""
    assert status in read(text).statuses


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("Room 409 is booked; see HTTP 409 in RFC 9110.", id="prose"),
        pytest.param("GET /items/409 HTTP/1.1", id="request-line"),
        pytest.param('{"uptime": 409, "status": "ok"}', id="json-not-status"),
        pytest.param(
            "The HTTP 409 Conflict response status code indicates a request conflict", id="doc"
        ),
        pytest.param(
            "A 412 Precondition Failed status is used; 428 Precondition Required\nasks the client",
            id="doc-wrapped",
        ),
        pytest.param('  File "/srv/app.py", line 409, in handler', id="line-number"),
        pytest.param("HTTPConnectionPool(host='h', port=409): Max retries exceeded", id="port"),
        pytest.param("== 412 passed, 3 skipped in 9.01s ==", id="test-count"),
        pytest.param("Error 1213: Deadlock found when trying to get lock", id="mysql-code"),
        pytest.param('{"code": 11000, "errmsg": "E11000 duplicate key"}', id="mongo-code"),
        pytest.param("returned 409 rows in 12 ms", id="rows"),
        pytest.param("GET /v1/items/409 took 12ms", id="id-in-path"),
        pytest.param("retrying [412] of [500] uploads", id="bracketed-count"),
        pytest.param("at Store.put(Store.java:409)", id="java-frame-line"),
        pytest.param('{:uptime=>409, :status=>"green"}', id="ruby-hash-not-status"),
    ],
)
def test_a_number_that_is_not_a_status_is_not_read(text: str) -> None:
    """A number in prose, a path, a port, a line or a count is not a status."""
    assert read(text).statuses == ()
