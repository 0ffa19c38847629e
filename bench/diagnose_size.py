"""What `httpconflict diagnose` costs per megabyte, by input size and shape, side by side.

    python -m bench.diagnose_size [--rounds N] [--big MB]

Each row is the CPU time (`time.process_time`, the median of N rounds, in
one process) of `diagnose` on one input, per megabyte, and its ratio to the
reference row: a realistic log of 1 MB (bench/diagnose_logs.py: CI and
``kubectl logs`` lines with ten corpus messages in them). The knowledge
base's one-time cost (reading the entries, analysing the regexes) is paid
before measuring. Hostile shapes are 2 MB of one unit repeated, then the
words many patterns need, then a message, which must still be diagnosed;
binary junk is random bytes read as UTF-8, then the message.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Sequence
from typing import Final

from bench.diagnose_logs import HOSTILE, corpus_message, hostile, junk, realistic
from httpconflict.tools.diagnose.matching import diagnose

MB: Final = 1_000_000
MESSAGE: Final = "psycopg2-unique.txt"
ANSWER: Final = "postgresql-unique-violation"


def cpu_per_mb(text: str, rounds: int, expected: str | None = None) -> float:
    spent = []
    for _ in range(rounds):
        started = time.process_time()
        diagnosis = diagnose(text)
        spent.append(time.process_time() - started)
        if expected is not None:
            found = diagnosis.best.entry.id if diagnosis.best is not None else None
            if found != expected:
                raise SystemExit(f"the message was not found: {found} instead of {expected}")
    return statistics.median(spent) / (len(text) / MB)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--big", type=int, default=10, help="size of the big log, in MB")
    args = parser.parse_args(argv)
    diagnose(realistic(100_000))  # the one-time cost, before measuring
    reference = cpu_per_mb(realistic(MB), args.rounds)
    rows = [("realistic log, 1 MB (reference)", reference)]
    rows.append(("realistic log, 10 KB", cpu_per_mb(realistic(10_000, 1), args.rounds * 5)))
    rows.append(("realistic log, 100 KB", cpu_per_mb(realistic(100_000, 3), args.rounds)))
    big = realistic(args.big * MB, messages=10 * args.big)
    rows.append((f"realistic log, {args.big} MB", cpu_per_mb(big, 1)))
    message = corpus_message(MESSAGE)
    for name, unit in HOSTILE.items():
        text = hostile(unit, 2 * MB, message)
        rows.append((f"hostile 2 MB: {name}", cpu_per_mb(text, 1, ANSWER)))
    for size in (2, args.big):
        text = junk(size * MB, message)
        rows.append((f"binary junk, {size} MB", cpu_per_mb(text, 1, ANSWER)))
    print(f"{'input':<44} {'CPU s/MB':>9} {'ratio':>7}")
    for name, seconds in rows:
        print(f"{name:<44} {seconds:9.3f} {seconds / reference:6.2f}x")


if __name__ == "__main__":
    main()
