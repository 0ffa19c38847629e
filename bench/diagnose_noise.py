"""A conflict in the middle of a long, noisy log, and how many of its details diagnose misreads.

Each recognised case of the test corpus is pasted between pieces of log that are
no conflict but state what details are made of: other requests (access log lines,
``curl -v`` output, a requests traceback of a 404, a Node.js error object of a 502,
a JSON log line of a 503), other errors (a PostgreSQL NOT NULL violation on another
table, a Java stack naming other tables), Kubernetes and Docker lines naming other
objects, request ids and versions. As in a log, each piece and the message start with a
log line (a timestamp, a prompt, a traceback's first line). The case's details, read
alone, are the truth: in the noisy paste each must come out the same, and no detail may
come from the noise (a URL or status of another request).
Run it: ``python -m bench.diagnose_noise`` (``--bare``: the pieces pasted back to back,
with no log line heading the message: a message is then told from the one before it by
how that one ends, or by its own headline).
"""

from __future__ import annotations

import random
import sys
import tomllib
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Final

from httpconflict.tools.diagnose.matching import Match, diagnose

CORPUS: Final = Path(__file__).parent.parent / "tests" / "diagnose" / "corpus"
#: The log line that heads the unprefixed Node.js error (as a log prints it).
_AXIOS_HEADER: Final = "2026-12-03T10:14:03.870Z error [search] suggest failed\n"
#: Pieces of log that are no conflict, each a few lines as a system prints them.
NOISE: Final = (
    '10.0.0.7 - - [03/Dec/2026:10:14:02 +0000] "GET /api/v1/health HTTP/1.1" 200 17 "-" '
    '"kube-probe/1.29"\n'
    '10.0.0.9 - - [03/Dec/2026:10:14:03 +0000] "GET /api/v1/orders/77 HTTP/1.1" 404 52 "-" '
    '"python-requests/2.31.0"\n',
    "Traceback (most recent call last):\n"
    '  File "/app/sync.py", line 40, in refresh\n'
    "    r.raise_for_status()\n"
    '  File "/usr/lib/python3.12/site-packages/requests/models.py", line 1021, in '
    "raise_for_status\n"
    "    raise HTTPError(http_error_msg, response=self)\n"
    "requests.exceptions.HTTPError: 404 Client Error: Not Found for url: "
    "https://billing.internal/v1/invoices/991\n",
    "$ curl -sv https://status.example.net/v1/ping\n"
    "> GET /v1/ping HTTP/1.1\n"
    "> Host: status.example.net\n"
    ">\n"
    "< HTTP/1.1 200 OK\n"
    "< Content-Type: application/json\n"
    "<\n"
    '{"ok": true, "version": "4.2.1"}\n',
    _AXIOS_HEADER + "AxiosError: Request failed with status code 502\n"
    "    at settle (/srv/node_modules/axios/dist/node/axios.cjs:2019:12)\n"
    "    at IncomingMessage.handleStreamEnd (/srv/node_modules/axios/dist/node/axios.cjs:3135:11)"
    " {\n"
    "  code: 'ERR_BAD_RESPONSE',\n"
    "  config: {\n"
    "    method: 'get',\n"
    "    url: 'https://search.internal/v2/suggest?q=ab',\n"
    "  },\n"
    "  response: {\n"
    "    status: 502,\n"
    "    statusText: 'Bad Gateway',\n"
    "  }\n"
    "}\n",
    '{"level":"error","ts":"2026-12-03T10:14:04Z","msg":"upstream failed",'
    '"url":"https://cache.internal/keys/a1","status":503,"request_id":"req-7f3a9c"}\n',
    '2026-12-03 10:14:05.120 UTC [311] ERROR:  null value in column "created_by" of relation '
    '"audit_log" violates not-null constraint\n'
    "2026-12-03 10:14:05.120 UTC [311] DETAIL:  Failing row contains (5, null, 2026-12-03).\n"
    "2026-12-03 10:14:05.120 UTC [311] STATEMENT:  INSERT INTO audit_log (id, created_by, at) "
    "VALUES (5, NULL, now())\n",
    "Hibernate: select s1_0.id,s1_0.user_id from sessions s1_0 where s1_0.token=?\n"
    "Hibernate: insert into login_events (at, user_id, id) values (?, ?, ?)\n"
    "\tat com.acme.auth.SessionRepository.save(SessionRepository.java:88)\n"
    "\tat com.acme.auth.LoginService.login(LoginService.java:41)\n",
    'I1203 10:14:07.004       1 controller.go:120] "Reconciling" deployments.apps="billing" '
    'namespace="payments" resourceVersion="88412"\n',
    " Container billing-worker  Started\n Container billing-db  Healthy\n",
    "2026-12-03 10:14:08,311 INFO [uvicorn.access] 10.0.0.4:51234 - "
    '"GET /v1/items?page=2 HTTP/1.1" 200\n',
    "2026-12-03 10:14:09,002 WARNING [app.retry] GET https://pricing.internal/v1/quotes/19 "
    "-> 500, retrying in 0.5 s (X-Request-Id: 4b1e0c2d)\n",
    "npm notice Publishing to https://registry.npmjs.org/ with tag latest and default access\n",
)
SEED: Final = 6


def unheaded(piece: str) -> str:
    """A piece of noise without the log line that heads it (the Node.js error's)."""
    return piece.replace(_AXIOS_HEADER, "")


def noise(pieces: int, rng: random.Random, *, bare: bool = False) -> str:
    """`pieces` pieces of noise; `bare`: without the log lines that head them."""
    chosen = (rng.choice(NOISE) for _ in range(pieces))
    return "".join(unheaded(piece) if bare else piece for piece in chosen)


#: The log line a message is written under (a log's lines each start a record).
HEADER: Final = "2026-12-03 10:14:06,512 ERROR [app.api] request failed\n"


def noisy(message: str, rng: random.Random, pieces: int = 12, *, bare: bool = False) -> str:
    """`message` under its log line, between `pieces` pieces of noise before and after it
    (`bare`: pasted back to back, with no log line heading the message or the Node.js error)."""
    header = "" if bare else HEADER
    before, after = noise(pieces, rng, bare=bare), noise(pieces, rng, bare=bare)
    return before + header + message.rstrip("\n") + "\n" + after


def corpus_text(name: str) -> str:
    return (CORPUS / name).read_text(encoding="utf-8")


@cache
def alone(name: str) -> Match | None:
    """What diagnose reads in case `name` pasted alone: the truth its noisy pastes are held
    to (read once, however many pastes of it are read)."""
    return diagnose(corpus_text(name)).best


def cases() -> Iterator[str]:
    expectations = tomllib.loads((CORPUS / "expectations.toml").read_text(encoding="utf-8"))
    for name in sorted(expectations):
        if expectations[name].get("recognised", True) and name.endswith(".txt"):
            yield name


def misreads(name: str, rng: random.Random, pieces: int = 12, *, bare: bool = False) -> list[str]:
    """What diagnose reads differently in case `name` pasted in `pieces` pieces of noise before
    and after it (empty: all the same)."""
    truth = alone(name)
    if truth is None:
        return []
    among = diagnose(noisy(corpus_text(name), rng, pieces, bare=bare)).best
    if among is None or among.entry.id != truth.entry.id:
        return [f"{name}: {truth.entry.id} -> {among.entry.id if among else None}"]
    keys = sorted(set(truth.details) | set(among.details))
    return [
        f"{name}: {key} {truth.details.get(key)!r} -> {among.details.get(key)!r}"
        for key in keys
        if truth.details.get(key) != among.details.get(key)
    ]


def main() -> None:
    bare = "--bare" in sys.argv[1:]
    rng = random.Random(SEED)
    names = list(cases())
    details = wrong_cases = 0
    lines: list[str] = []
    for name in names:
        truth = alone(name)
        details += len(truth.details) if truth else 0
        found = misreads(name, rng, bare=bare)
        wrong_cases += bool(found)
        lines.extend(found)
    print("\n".join(lines))
    print(
        f"{len(lines)} details misread (of {details}) in {wrong_cases} of {len(names)} cases",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
