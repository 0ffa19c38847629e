"""Inputs for `httpconflict diagnose` as users paste them: whole logs, and hostile shapes.

A realistic log is a CI or ``kubectl logs`` output (pip and Maven downloads,
pytest lines, structured JSON log lines, access log lines, Docker build
steps) with messages of the test corpus in it. A hostile shape is one
character or short unit repeated: runs of spaces, newlines, quotes,
``a=a=a=``, brackets, unclosed JSON nesting, NUL bytes, one line of
megabytes, CR-only line ends. Both are made from a seed, so the same each run.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Final

CORPUS: Final = Path(__file__).parent.parent / "tests" / "diagnose" / "corpus"
_FILLER: Final = (
    "2024-06-01T12:{m:02d}:{s:02d}.1234567Z Collecting requests==2.31.0 "
    "(from -r requirements.txt (line {n}))",
    "2024-06-01T12:{m:02d}:{s:02d}.1234567Z   Downloading https://files.pythonhosted.org/"
    "packages/70/8e/0e2d8{n}/requests-2.31.0-py3-none-any.whl (62 kB)",
    "tests/test_orders.py::test_checkout_{n} PASSED                              [ {p}%]",
    '{{"level":"info","ts":"2024-06-01T12:{m:02d}:{s:02d}Z","logger":"controller",'
    '"msg":"reconciled","object":{{"name":"web-{n}","namespace":"default"}},"duration_ms":{n}}}',
    '10.0.0.{p} - - [01/Jun/2024:12:{m:02d}:{s:02d} +0000] "GET /api/v1/orders/{n} HTTP/1.1" '
    '200 {n} "-" "python-requests/2.31.0"',
    "#12 [build 4/9] RUN pip install --no-cache-dir -r requirements.txt",
    "[INFO] Downloaded from central: https://repo.maven.apache.org/maven2/org/slf4j/"
    "slf4j-api/2.0.{p}/slf4j-api-2.0.{p}.jar ({n} kB at 1.2 MB/s)",
    "INFO  [alembic.runtime.migration] Running upgrade {n} -> {p}, add index on orders",
    '  File "/usr/lib/python3.12/site-packages/app/views.py", line {n}, in handle',
    "Step {p}/20 : COPY . /app",
    "npm WARN deprecated inflight@1.0.6: This module is not supported, and leaks memory.",
    "",
)
#: One unit of each hostile shape, repeated to the size wanted.
HOSTILE: Final = {
    "spaces": " ",
    "newlines": "\n",
    "blank lines with spaces": " \n",
    "CRLF": "\r\n",
    "CR only": "\r",
    "double quotes": '"',
    "single quotes": "'",
    "a=a=a=": "a=",
    "brackets": "[",
    "braces": "{",
    "unclosed JSON nesting": '{"a":',
    "NUL bytes": "\x00",
    "escaped quotes": '\\"',
    "indented 'at'": "    at ",
    "'409 '": "409 ",
    "'(409) '": "(409) ",
    "one long line": "x",
    "JSON status members": '{"status": 409, "a": ',
    "UTF-8 read as Latin-1": "Ã³",
    "Latin-1 lead bytes alone": "Ã",
    "lines read as Latin-1": "restricciÃ³n Â«x_pkeyÂ»\n",
    "ANSI colours": "\x1b[31m\x1b[1m",
}
# Words of many patterns, after the hostile run: the regexes that need them run on it.
_LURES: Final = (
    "status: 409\n    at Foo.bar(Foo.java:1)\nID: x\nLock Info:\nPath: x\n url: 'http://x'\n"
    "$ curl http://x/a/b\n! [rejected]\nstatusCode: 409\n"
)


def corpus_message(name: str) -> str:
    return (CORPUS / name).read_text(encoding="utf-8")


def filler(size: int, rng: random.Random) -> str:
    """About `size` characters of log lines that are no error."""
    lines, total = [], 0
    while total < size:
        line = rng.choice(_FILLER).format(
            m=rng.randrange(60), s=rng.randrange(60), n=rng.randrange(10_000), p=rng.randrange(100)
        )
        lines.append(line)
        total += len(line) + 1
    return "\n".join(lines) + "\n"


def realistic(size: int, messages: int = 10, seed: int = 7) -> str:
    """A log of about `size` characters: filler, with `messages` corpus cases spread in it."""
    rng = random.Random(seed)
    cases = sorted(p.name for p in CORPUS.iterdir() if p.name != "expectations.toml")
    share = size // (messages + 1)
    parts = []
    for _ in range(messages):
        parts.append(filler(share, rng))
        parts.append(corpus_message(rng.choice(cases)))
    parts.append(filler(share, rng))
    return "".join(parts)


def hostile(unit: str, size: int, message: str) -> str:
    """`unit` repeated to `size` characters, the words many patterns need, then `message`."""
    return unit * (size // len(unit)) + "\n" + _LURES + message


def junk(size: int, message: str, seed: int = 7) -> str:
    """`size` random bytes read as the command reads a file (UTF-8, undecodable bytes
    replaced: a binary file pasted by mistake), then `message`."""
    data = random.Random(seed).randbytes(size)
    return data.decode("utf-8", "replace") + "\n" + message
