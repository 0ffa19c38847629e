"""The autosave case study, as an experiment: how many edits does each way of saving lose?

    python -m bench.autosave [--tabs 8] [--documents 4] [--same-field 0.1]
                             [--saves 60] [--interval-ms 50] [--seed 1] [--write-docs]

T browser tabs (bench/autosave_tabs.py) edit D documents, tab k on
document k mod D. Before each autosave the user edits one field: with
probability --same-field the document's title, which every tab of the
document may edit, else the tab's own field. Saves fire every interval
(5 s in the case study, compressed to --interval-ms, with +-50% jitter),
all tabs at once. Each mode runs against its own `httpconflict serve`
(fresh SQLite file, --blind-writes so that the naive mode can run, a
history long enough to keep every version). The oracle
(bench/autosave_oracle.py) compares every acknowledged edit with the final
documents and counts the lost ones exactly. The table gives, per mode, the
saves acknowledged, the edits lost, the conflicts users were shown, and
the requests sent; --write-docs writes it and a chart into docs/.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import httpx

from .autosave_chart import write_chart
from .autosave_oracle import Lost, Save, lost_updates
from .autosave_tabs import MODES, Tab, Tally
from .report import write_results
from .rounds import machine
from .servers import PROJECT, free_port, running, service_command

DOCS: Final = PROJECT / "docs" / "autosave.md"
CHART: Final = PROJECT / "docs" / "autosave.png"
HEADING: Final = "## Results"
TITLE: Final = "title"


@dataclass(frozen=True, slots=True)
class Outcome:
    """One mode's run, as the oracle judged it."""

    mode: str
    saves: int
    lost: int
    conflicts: int
    requests: int
    seconds: float


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.autosave", description=__doc__)
    parser.add_argument("--tabs", type=int, default=8, help="browser tabs (default 8)")
    parser.add_argument("--documents", type=int, default=4, help="documents (default 4)")
    parser.add_argument(
        "--same-field",
        type=float,
        default=0.1,
        help="chance that an edit touches the field other tabs edit too (default 0.1)",
    )
    parser.add_argument("--saves", type=int, default=60, help="autosaves per tab (default 60)")
    parser.add_argument(
        "--interval-ms", type=int, default=50, help="time between autosaves (default 50)"
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed of the edits")
    parser.add_argument("--write-docs", action="store_true", help="write docs/autosave.md")
    options = parser.parse_args(argv)
    if min(options.tabs, options.documents, options.saves, options.interval_ms) < 1:
        parser.error("--tabs, --documents, --saves and --interval-ms must be at least 1")
    if not 0 <= options.same_field <= 1:
        parser.error("--same-field is a probability, from 0 to 1")
    return options


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    outcomes = [run_mode(mode, options) for mode in MODES]
    report = _report(outcomes, options)
    print(report)
    if options.write_docs:
        write_chart(CHART, outcomes)
        write_results(DOCS, report + f"\n\n![The three modes]({CHART.name})", heading=HEADING)
        written = f"{DOCS.relative_to(PROJECT)} and {CHART.relative_to(PROJECT)}"
        print(f"\nwrote {written}", file=sys.stderr)
    return 0


def run_mode(mode: str, options: argparse.Namespace) -> Outcome:
    """Start a fresh service, run every tab of `mode` against it, and judge the result."""
    with tempfile.TemporaryDirectory(prefix="httpconflict-autosave-") as tmp:
        db, port = Path(tmp) / "autosave.db", free_port()
        command = [*service_command(db, port, "off"), "--blind-writes", "--history", "1000000"]
        with running("autosave", command, db=db, port=port, log_dir=Path(tmp)) as server:
            return asyncio.run(_run(mode, server.url, options))


async def _run(mode: str, base_url: str, options: argparse.Namespace) -> Outcome:
    tally = Tally()
    limits = httpx.Limits(max_connections=options.tabs * 2)
    hooks = {"request": [tally.count]}
    async with httpx.AsyncClient(
        base_url=base_url, timeout=30, limits=limits, event_hooks=hooks
    ) as http:
        urls = [f"/v1/autosave/doc{d}" for d in range(options.documents)]
        for url in urls:
            fields = {TITLE: "untitled", **{f"tab{t}": "" for t in range(options.tabs)}}
            created = await http.put(url, json=fields, headers={"If-None-Match": "*"})
            created.raise_for_status()
        tally.requests = 0  # the set-up is not the tabs' doing
        tabs = [
            MODES[mode](t, urls[t % options.documents], http, tally) for t in range(options.tabs)
        ]
        started = time.monotonic()
        await asyncio.gather(*(_user(tab, options) for tab in tabs))
        seconds = time.monotonic() - started
        requests = tally.requests  # before the judge's own reads
        lost = await _judge(http, urls, tally)
    saves = len(tally.acknowledged)
    return Outcome(mode, saves, len(lost), tally.conflicts, requests, seconds)


async def _user(tab: Tab, options: argparse.Namespace) -> None:
    """One tab's user: an edit, then the autosave, `--saves` times."""
    rng = random.Random(options.seed * 1000 + tab.number)
    await tab.open()
    for n in range(options.saves):
        await asyncio.sleep(options.interval_ms / 1000 * rng.uniform(0.5, 1.5))
        field = TITLE if rng.random() < options.same_field else f"tab{tab.number}"
        await tab.edit_and_save({field: f"tab{tab.number} edit {n}"})


async def _judge(http: httpx.AsyncClient, urls: Sequence[str], tally: Tally) -> list[Lost]:
    """Every document's history, oldest first, judged by the oracle against the saves."""
    saves = {etag: Save(tab, edits) for tab, _, edits, etag in tally.acknowledged}
    lost: list[Lost] = []
    for url in urls:
        history: list[tuple[int, str, dict[str, object]]] = []
        page: str | None = f"{url}/versions?limit=1000"
        while page is not None:
            answer = (await http.get(page)).json()
            history += [(v["version"], v["etag"], v["document"]) for v in answer["items"]]
            page = answer["next"]
        history.sort(key=lambda version: version[0])
        assert [v[0] for v in history] == list(range(1, len(history) + 1)), "history is not whole"
        lost += lost_updates(url, [(etag, body) for _, etag, body in history], saves)
    return lost


def _report(outcomes: Sequence[Outcome], options: argparse.Namespace) -> str:
    put = next(o for o in outcomes if o.mode == "If-Match PUT")
    lines = [
        machine("httpx", "starlette", "uvicorn") + ".",
        "",
        f"{options.tabs} tabs on {options.documents} documents, {options.saves} autosaves per "
        f"tab every {options.interval_ms} ms (+-50%), {options.same_field:.0%} of edits on the "
        f"field other tabs edit too; seed {options.seed}.",
        "",
        "| Mode | Saves acknowledged | Edits lost | Conflicts shown to users "
        "| vs If-Match PUT | Requests | Seconds |",
        "|---|--:|--:|--:|--:|--:|--:|",
    ]
    for o in outcomes:
        fewer = "" if put.conflicts == 0 else f"{1 - o.conflicts / put.conflicts:.1%} fewer"
        lines.append(
            f"| {o.mode} | {o.saves:,} | **{o.lost:,}** | {o.conflicts:,} | "
            f"{fewer if o.mode != put.mode and o.lost == 0 else '-'} | {o.requests:,} | "
            f"{o.seconds:.1f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
