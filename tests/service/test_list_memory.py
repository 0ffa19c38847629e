"""A list answer is streamed: listing a 60 MB collection adds little to the worker's memory.

The worker is the server process itself (one worker: uvicorn serves in its
main process). Its peak resident memory (VmHWM) is reset just before the
listing (``5`` written to /proc/PID/clear_refs), so the peak read after
it is what the listing added to what the worker already held.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.servers import ServiceProcess

PLAIN = {"Accept-Encoding": "identity"}
MB = 1_000_000
#: The issue's acceptance: "Listing a 60 MB collection adds less than 32 MB to the worker."
MAX_ADDED = 32 * 1024 * 1024


def fill(service: ServiceProcess, collection: str, count: int, size: int) -> None:
    """`count` documents of `size` bytes each, written by a few clients at once."""

    def create(n: int) -> None:
        head = f'{{"n":{n},"pad":"'
        body = (head + "x" * (size - len(head) - 2) + '"}').encode()
        response = http.put(
            f"/v1/{collection}/doc-{n:04}",
            content=body,
            headers={"If-None-Match": "*", "Content-Type": "application/json"},
        )
        assert response.status_code == 201, response.text

    with service.client() as http, ThreadPoolExecutor(4) as pool:
        list(pool.map(create, range(count)))


def status(pid: int) -> dict[str, int]:
    """The worker's memory figures from /proc/PID/status, in bytes."""
    figures = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if value.strip().endswith(" kB"):
            figures[name] = int(value.split()[0]) * 1024
    return figures


class Peak:
    """How much a block adds to a process's peak resident memory."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.added = 0

    def __enter__(self) -> Peak:
        Path(f"/proc/{self.pid}/clear_refs").write_text("5")  # VmHWM := VmRSS
        self.start = status(self.pid)["VmRSS"]
        return self

    def __exit__(self, *_: object) -> None:
        self.added = status(self.pid)["VmHWM"] - self.start


def list_all(service: ServiceProcess, url: str) -> int:
    """Read one page as it streams, keeping only its ends; its size in bytes (not gzip-coded)."""
    with service.client(headers=PLAIN) as http, http.stream("GET", url) as response:
        assert response.status_code == 200
        assert "content-length" not in response.headers
        size = 0
        head = tail = b""
        for chunk in response.iter_raw():
            head = head or chunk[:40]
            tail = (tail + chunk)[-80:]
            size += len(chunk)
    assert head.startswith(b'{"items":[{"id":"doc-0000"')
    assert tail.endswith(b'}],"next":null}')
    return size


@pytest.fixture(scope="module")
def big(service: ServiceProcess) -> str:
    """A collection of 60 documents of 1 MB each (60 MB), listed as one page."""
    fill(service, "big", 60, MB)
    return "/v1/big?limit=1000"


def test_the_worker_is_the_server_process(service: ServiceProcess) -> None:
    """With one worker, the process started is the one that answers (its pid is in the log)."""
    with service.client() as http:
        assert http.get("/v1/nothing").status_code == 200
    records = service.wait_for_log(lambda r: r["path"] == "/v1/nothing")
    assert records[0]["worker"] == service.process.pid


def test_listing_60_mb_adds_less_than_32_mb(service: ServiceProcess, big: str) -> None:
    """One 60 MB page, read whole: the worker's peak grows by less than 32 MB."""
    list_all(service, big)  # first use: the allocator and caches settle
    with Peak(service.process.pid) as peak:
        size = list_all(service, big)
    assert size > 60 * MB
    assert peak.added < MAX_ADDED, f"listing added {peak.added / 2**20:.1f} MiB"


def test_four_concurrent_60_mb_lists_add_less_than_32_mb(service: ServiceProcess, big: str) -> None:
    """Four clients listing the 60 MB page at once: still less than 32 MB added in all."""
    with Peak(service.process.pid) as peak, ThreadPoolExecutor(4) as pool:
        sizes = list(pool.map(lambda _: list_all(service, big), range(4)))
    assert min(sizes) > 60 * MB
    assert peak.added < MAX_ADDED, f"four lists added {peak.added / 2**20:.1f} MiB"


def test_the_streamed_page_is_the_whole_page(service: ServiceProcess, big: str) -> None:
    """The streamed answer is one JSON page holding every document, in id order, as stored."""
    with service.client() as http:
        page = http.get(big).json()
        # An item names the document's plain form; its gzip form's tag is "...-gzip".
        one = http.get("/v1/big/doc-0007", headers=PLAIN)
    assert page["next"] is None
    assert [item["id"] for item in page["items"]] == [f"doc-{n:04}" for n in range(60)]
    assert page["items"][7]["etag"] == one.headers["ETag"]
    assert json.dumps(page["items"][7]["document"], separators=(",", ":")).encode() == one.content


def test_small_documents_stream_too(service: ServiceProcess) -> None:
    """1000 documents of 20 KB (a 20 MB page of many items) add less than 32 MB as well."""
    fill(service, "many", 1000, 20_000)
    url = "/v1/many?limit=1000"
    with service.client() as http:
        page = http.get(url)
    assert [item["document"]["n"] for item in page.json()["items"]] == list(range(1000))
    assert page.headers["Link"] == '</v1/many?limit=1000&after=doc-0999>; rel="next"'
    with Peak(service.process.pid) as peak, service.client() as http:
        assert len(http.get(url).content) == len(page.content)
    assert peak.added < MAX_ADDED, f"listing added {peak.added / 2**20:.1f} MiB"
