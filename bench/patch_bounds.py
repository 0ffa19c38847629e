"""What a hostile patch costs the core, side by side with what a 1 MiB PUT costs.

    python -m bench.patch_bounds [--rounds N]

Each row is CPU time (`time.process_time`, the median of N rounds) in one
process, and its ratio to the reference row: parsing and writing back a
1 MiB document, the work a PUT of the largest body does. Run on a loaded
machine, the milliseconds move; the ratios much less.

1. The issue's JSON Patch of 24 `copy` operations (67 MB unbounded), with
   the service's limit of 1 MiB: refused at the 18th copy, before it is
   made. Beside it, the same patch without a limit, cut to the 17 copies
   that build half a megabyte (each further copy doubles the time).
2. A 1 MiB patch of `copy` and `remove` in turn of a 100 KB value (the
   document stays small): applied, as a copy duplicates nothing until one
   of its places is written.
3. A 1 MiB patch removing the first element of a 500,000-element array
   again and again: refused once the moves reach 64 per byte of the limit;
   beside it, 3,000 of those removals without a limit.
4. Stale merge patches (`rebase`): 10,000 changed pointers against 10,000
   touched ones, top-level and under 100 nested objects, apart and
   overlapping. Beside them, the pairwise definition (touched times
   changed) at 1,000 x 1,000, a hundredth of the comparisons.
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any, Final

from httpconflict import Patch, PatchTooLarge, apply_json_patch, changed_pointers, rebase

MiB: Final = 1 << 20


def cpu(work: Callable[[], object], rounds: int) -> float:
    """The median CPU seconds of `rounds` runs of `work`."""
    spent = []
    for _ in range(rounds):
        started = time.process_time()
        work()
        spent.append(time.process_time() - started)
    return statistics.median(spent)


def refused(document: Any, ops: list[dict[str, Any]]) -> Callable[[], object]:
    def run() -> object:
        try:
            apply_json_patch(document, ops, max_bytes=MiB)
        except PatchTooLarge as refusal:
            return refusal
        raise AssertionError("the patch was not refused")

    return run


def nested(document: dict[str, Any], depth: int) -> dict[str, Any]:
    for _ in range(depth):
        document = {"a": document}
    return document


def members(n: int, value: int) -> dict[str, int]:
    return {f"k{i}": value for i in range(n)}


def stale_merge(n: int, depth: int, *, overlap: bool) -> tuple[Patch, Any, Any]:
    base = nested({"x": members(n, 0), "y": members(n, 0)}, depth)
    current = nested({"x": members(n, 1), "y": members(n, 0)}, depth)
    mine = nested({"xy"[not overlap]: members(n, 2)}, depth)
    return Patch("application/merge-patch+json", mine, MiB), base, current


def pairwise(patch: Patch, base: Any, current: Any) -> object:
    touched, changed = patch.touched(base), changed_pointers(base, current)
    return [t for t in touched for c in changed if t.overlaps(c)]


def rows(rounds: int) -> list[tuple[str, float]]:
    reference_doc = {
        "items": [{"id": i, "name": f"item {i}", "tags": ["a", "b"]} for i in range(20_000)]
    }
    text = json.dumps(reference_doc, separators=(",", ":")).encode()
    assert len(text) <= MiB
    out = [
        (
            f"reference: parse and write back a {len(text) // 1024} KiB document",
            cpu(lambda: json.dumps(json.loads(text), separators=(",", ":")), rounds),
        )
    ]
    doubling = [{"op": "copy", "from": "/a", "path": "/a/-"}]
    out.append(
        (
            "24 doubling copies, limit 1 MiB: refused",
            cpu(refused({"a": [1]}, doubling * 24), rounds),
        )
    )
    out.append(
        (
            "17 doubling copies, no limit (512 KiB built)",
            cpu(lambda: apply_json_patch({"a": [1]}, doubling * 17), rounds),
        )
    )
    cycle = [{"op": "copy", "from": "/big", "path": "/c"}, {"op": "remove", "path": "/c"}]
    cycles = cycle * (MiB // len(json.dumps(cycle)))
    out.append(
        (
            "1 MiB of copy+remove cycles of 100 KB: applied",
            cpu(lambda: apply_json_patch({"big": "x" * 100_000}, cycles, max_bytes=MiB), rounds),
        )
    )
    front = [{"op": "remove", "path": "/a/0"}]
    array = {"a": [0] * 500_000}
    out.append(
        (
            "1 MiB of front removals, 500,000 elements: refused",
            cpu(refused(array, front * (MiB // 30)), rounds),
        )
    )
    out.append(
        (
            "3,000 front removals, no limit",
            cpu(lambda: apply_json_patch(array, front * 3_000), rounds),
        )
    )
    for depth in (0, 100):
        for overlap in (False, True):
            case = stale_merge(10_000, depth, overlap=overlap)
            where = "top level" if not depth else f"under {depth} objects"
            kind = "overlapping" if overlap else "apart"
            out.append(
                (
                    f"stale merge 10,000 x 10,000, {where}, {kind}",
                    cpu(functools.partial(rebase, *case), rounds),
                )
            )
    patch, base, current = stale_merge(1_000, 0, overlap=False)
    out.append(
        (
            "pairwise definition, 1,000 x 1,000, top level",
            cpu(lambda: pairwise(patch, base, current), rounds),
        )
    )
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.patch_bounds", description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args(argv)
    measured = rows(options.rounds)
    reference = measured[0][1]
    width = max(len(label) for label, _ in measured)
    print(f"| {'case':<{width}} | CPU ms | x reference |")
    print(f"|{'-' * (width + 2)}|-------:|------------:|")
    for label, seconds in measured:
        print(f"| {label:<{width}} | {seconds * 1000:6.1f} | {seconds / reference:11.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
