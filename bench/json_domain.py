"""What the JSON domain costs a parse: `parse_json` with and without its checks, side by side.

    python -m bench.json_domain [--rounds N]

Parses documents of three shapes (numbers, short strings, and strings whose
emoji a client sent as ``\\ud83d\\ude00`` escapes, which send the strings
through the slow check) at three sizes, once with the decoder the service
used before the JSON domain (strict: no NaN, no duplicate names, but no
limits) and once with `httpconflict.parse_json`, interleaved, `--rounds`
times; prints the median CPU time of each and their ratio as a markdown
table. In process, no server: a PUT's other costs (HTTP, the write) are
left out, so the ratio is the worst a request sees.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any, Final

from httpconflict import parse_json

SIZES: Final = {"1 kB": 1_000, "100 kB": 100_000, "1 MB": 1_000_000}


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) != len(pairs):
        raise ValueError("a member name repeats")
    return document


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# The decoder parse_json had before the domain: strict, without limits.
_BEFORE: Final = json.JSONDecoder(parse_constant=_constant, object_pairs_hook=_unique)


def _item(shape: str, rng: random.Random, i: int) -> dict[str, Any]:
    if shape == "numbers":
        return {"id": i, "price": round(rng.random() * 100, 2), "ratio": rng.random(), "n": [i, -i]}
    if shape == "strings":
        return {"id": f"item-{i}", "name": f"name {rng.random()}", "tags": ["a", "b", "c"]}
    return {"id": f"item-{i}", "note": f"\U0001f600 {rng.random()} \u00e9", "tags": ["\U0001f4a1"]}


def document(shape: str, size: int) -> bytes:
    """A document of about `size` bytes: {"items": [...]} of one shape.

    Written as Python's json.dumps writes by default (ensure_ascii): emoji
    as surrogate-pair escapes.
    """
    rng = random.Random(size)
    first = _item(shape, rng, 0)
    count = max(1, size // len(json.dumps(first)))
    return json.dumps({"items": [first] + [_item(shape, rng, i) for i in range(1, count)]}).encode()


def cpu_seconds(parse: Callable[[bytes], Any], body: bytes, repeat: int) -> float:
    started = time.process_time()
    for _ in range(repeat):
        parse(body)
    return (time.process_time() - started) / repeat


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.json_domain", description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    options = parser.parse_args(argv)
    print("| shape | size | before (ms) | with the domain (ms) | ratio |")
    print("|---|---|---|---|---|")
    for shape in ("numbers", "strings", "escaped emoji"):
        for label, size in SIZES.items():
            body = document(shape, size)
            repeat = max(1, 2_000_000 // len(body))
            before: list[float] = []
            after: list[float] = []
            for _ in range(options.rounds):
                before.append(cpu_seconds(lambda b: _BEFORE.decode(b.decode()), body, repeat))
                after.append(cpu_seconds(parse_json, body, repeat))
            old, new = statistics.median(before), statistics.median(after)
            print(f"| {shape} | {label} | {old * 1e3:.3f} | {new * 1e3:.3f} | {new / old:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
