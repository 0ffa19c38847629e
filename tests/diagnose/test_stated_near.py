"""A 409 said only as a status, with the URL or the client of the system that answered it:
``{status = [409], near = '...'}`` clues. Elasticsearch's 409 shown as a client logs it
(``PUT http://...:9200/i/_doc/1 [status:409 request:0.003s]``), as Guzzle 3 or es-hadoop
print it, was the plain HTTP 409 before."""

from __future__ import annotations

import pytest

from httpconflict.tools.diagnose.matching import diagnose

VERSION = "elasticsearch-version-conflict"
EXISTS = "elasticsearch-document-exists"


@pytest.mark.parametrize(
    ("message", "entry", "details"),
    [
        pytest.param(
            "WARNING:elasticsearch:PUT http://localhost:9200/test/_doc/1?if_seq_no=3"
            "&if_primary_term=1 [status:409 request:0.004s]",
            VERSION,
            {"index": "test", "document_id": "1", "status": "409"},
            id="elasticsearch-py-log",
        ),
        pytest.param(
            "POST http://es01:9200/logs/_create/abc [status:409 request:0.010s]",
            EXISTS,
            {"index": "logs", "document_id": "abc", "url": "http://es01:9200/logs/_create/abc"},
            id="create-url",
        ),
        pytest.param(
            "PUT https://search.example.com:443/idx/_doc/7 [status:409 request:0.020s]",
            VERSION,
            {"index": "idx", "document_id": "7"},
            id="opensearch-py-log-other-port",
        ),
        pytest.param(
            "Uncaught exception 'Guzzle\\Http\\Exception\\ClientErrorResponseException' with "
            "message 'Client error response\n[status code] 409\n[reason phrase] Conflict\n"
            "[url] http://10.0.0.2:9200/web/site/p1/_update' in /app/vendor/guzzle/x.php:43",
            VERSION,
            {
                "index": "web",
                "document_id": "p1",
                "url": "http://10.0.0.2:9200/web/site/p1/_update",
            },
            id="guzzle-3-6x-update-url",
        ),
        pytest.param(
            "es.write.operation = create\n"
            "EsHadoopInvalidRequest: Found unrecoverable error [Conflict(409)...",
            EXISTS,
            {"status": "409"},
            id="es-hadoop-create",
        ),
        pytest.param(
            "elasticsearch.exceptions.TransportError: TransportError(409, "
            "'document_already_exists_exception')",
            EXISTS,
            {"status": "409"},
            id="elasticsearch-2-document-already-exists",
        ),
    ],
)
def test_a_409_for_elasticsearch_is_elasticsearch(
    message: str, entry: str, details: dict[str, str]
) -> None:
    best = diagnose(message).best
    assert best is not None
    assert best.entry.id == entry, best.entry.id
    assert {key: best.details.get(key) for key in details} == details


@pytest.mark.parametrize(
    "message",
    [
        pytest.param("PUT http://es:9200/index/_doc/1 [status:404 request:0.003s]", id="404"),
        pytest.param("GET http://localhost:9200/ [status:N/A request:0.003s]", id="no-status"),
    ],
)
def test_another_status_for_elasticsearch_is_not_a_conflict(message: str) -> None:
    assert diagnose(message).best is None


def test_a_409_of_another_message_is_not_the_elasticsearch_request_of_the_log() -> None:
    """The status and the system's URL must be in one message of the log."""
    log = (
        "2024-01-01T00:00:00 INFO GET http://es:9200/idx/_doc/1 [status:200 request:0.001s]\n"
        "2024-01-01T00:00:01 ERROR 409 Conflict from https://api.example.com/teams\n"
    )
    best = diagnose(log).best
    assert best is not None
    assert best.entry.id == "http-409-conflict"
