"""Each corpus message as a JSON log line writes it, and how many read as when pasted alone.

A structured logger puts a whole message (a traceback, an error over lines) in one string
member of one JSON line, its line ends escaped as ``\\n``: pino's ``msg``, structlog's
``exception``, logrus's ``error``, Serilog's compact ``@x``, Google Cloud's ``message``.
Docker's json-file driver writes one record per line of the program's output
(``{"log":"...\\n","stream":"stderr","time":...}``), so one message is many records. A
request logger states the status in a member of its own (``"status":409``, pino-http's
``"res":{"statusCode":409}``) apart from the message. Each case of the corpus (look-alikes
too) is written in each shape; it reads right when diagnose gives it the entry (or none)
and the details it gets pasted alone.
Run it: ``python -m bench.diagnose_json_logs`` (``--every N``: every Nth case).
"""

from __future__ import annotations

import json
import sys
import time
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final

from httpconflict.tools.diagnose.matching import Diagnosis, diagnose

CORPUS: Final = Path(__file__).parent.parent / "tests" / "diagnose" / "corpus"
_TIME: Final = "2026-12-05T18:40:01.123456Z"


def _line(record: dict[str, Any]) -> str:
    # Loggers that write UTF-8 as it is (pino, zap, logrus) and those that escape it
    # (Python's json.dumps, structlog's default) both occur: the shapes alternate.
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n"


def pino(message: str, status: int | None) -> str:
    return _line(
        {"level": 50, "time": 1764960001123, "pid": 4242, "hostname": "web-1", "msg": message}
    )


def structlog(message: str, status: int | None) -> str:
    record = {"event": "request failed", "level": "error", "logger": "app.api"}
    return (
        json.dumps({**record, "timestamp": _TIME, "exception": message}, ensure_ascii=True) + "\n"
    )


def logrus(message: str, status: int | None) -> str:
    return _line({"error": message, "level": "error", "msg": "request failed", "time": _TIME})


def serilog(message: str, status: int | None) -> str:
    return _line(
        {
            "@t": _TIME,
            "@mt": "Request {RequestPath} failed",
            "@l": "Error",
            "@x": message,
            "RequestPath": "/api/v1/items",
        }
    )


def gcp(message: str, status: int | None) -> str:
    return _line(
        {
            "severity": "ERROR",
            "message": message,
            "timestamp": _TIME,
            "logging.googleapis.com/trace": "projects/shop/traces/4bf92f3577b34da6",
        }
    )


def docker(message: str, status: int | None) -> str:
    """Docker's json-file driver: one record per line of the program's stderr."""
    return "".join(
        json.dumps(
            {"log": line + "\n", "stream": "stderr", "time": f"2026-12-05T18:40:01.{n:09d}Z"}
        )
        + "\n"
        for n, line in enumerate(message.rstrip("\n").split("\n"))
    )


def status_members(message: str, status: int | None) -> str:
    """A request logger: the status in members of its own, the message in another."""
    extra: dict[str, Any] = {}
    if status is not None:
        extra = {"status": status, "res": {"statusCode": status}}
    return _line({"level": "error", "time": _TIME, **extra, "msg": message, "req_id": "r-1"})


SHAPES: Final[dict[str, Callable[[str, int | None], str]]] = {
    "pino": pino,
    "structlog": structlog,
    "logrus": logrus,
    "serilog": serilog,
    "gcp": gcp,
    "docker": docker,
    "status": status_members,
}


def corpus_text(name: str) -> str:
    return (CORPUS / name).read_text(encoding="utf-8")


def names() -> Iterator[str]:
    """The corpus's pasted messages (recognised ones and look-alikes)."""
    expectations = tomllib.loads((CORPUS / "expectations.toml").read_text(encoding="utf-8"))
    yield from (name for name in sorted(expectations) if name.endswith(".txt"))


def reading(diagnosis: Diagnosis) -> tuple[str | None, dict[str, str]]:
    best = diagnosis.best
    return (None, {}) if best is None else (best.entry.id, dict(best.details))


def status_of(alone: Diagnosis) -> int | None:
    """The status the message states alone (what a request logger would log beside it)."""
    best = alone.best
    status = best.details.get("status") if best is not None else None
    return int(status) if status is not None and status.isdigit() else None


def misread(name: str, shapes: list[str], *, details: bool = True) -> dict[str, str]:
    """Of `shapes`, those in which case `name` does not read as alone, and how it reads."""
    message = corpus_text(name)
    alone = diagnose(message)
    expected = reading(alone)
    status = status_of(alone)
    wrong = {}
    for shape in shapes:
        got = reading(diagnose(SHAPES[shape](message, status)))
        if got[0] != expected[0] or (details and got != expected):
            wrong[shape] = f"{expected[0]} -> {got[0]}" + (
                "" if got[0] != expected[0] else f" details {expected[1]} -> {got[1]}"
            )
    return wrong


def main() -> None:
    every = int(sys.argv[sys.argv.index("--every") + 1]) if "--every" in sys.argv else 1
    chosen = list(names())[::every]
    shapes = list(SHAPES)
    entries = dict.fromkeys(shapes, 0)
    both = dict.fromkeys(shapes, 0)
    started = time.perf_counter()
    for name in chosen:
        message = corpus_text(name)
        alone = diagnose(message)
        expected = reading(alone)
        status = status_of(alone)
        for shape in shapes:
            got = reading(diagnose(SHAPES[shape](message, status)))
            entries[shape] += got[0] == expected[0]
            both[shape] += got == expected
            if got[0] != expected[0]:
                print(f"{shape:10} {name}: {expected[0]} -> {got[0]}")
            elif got != expected:
                print(f"{shape:10} {name}: details {expected[1]} -> {got[1]}")
    took = time.perf_counter() - started
    for shape in shapes:
        print(
            f"{shape:10} entry {entries[shape]:,}/{len(chosen):,}  "
            f"entry and details {both[shape]:,}/{len(chosen):,}",
            file=sys.stderr,
        )
    print(f"{took:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
