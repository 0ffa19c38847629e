"""A pinned benchmark run puts every server, its threads and its children, on the server CPU."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from bench.rounds import Contender, parse_args, pin_servers
from bench.servers import Server, pin_tree, split_cpus

# A parent with a thread, and a child with a thread of its own, all asleep.
TREE = """
import subprocess, sys, threading, time
threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
child = subprocess.Popen([sys.executable, "-c",
    "import threading, time; threading.Thread(target=time.sleep, args=(60,)).start()"])
print("ready", flush=True)
time.sleep(60)
"""


def _tasks(pid: int) -> dict[int, frozenset[int]]:
    """Every thread of `pid` and its descendants, with its CPU affinity."""
    found: dict[int, frozenset[int]] = {}
    pending = [pid]
    while pending:
        current = pending.pop()
        for task in Path(f"/proc/{current}/task").iterdir():
            found[int(task.name)] = frozenset(os.sched_getaffinity(int(task.name)))
            pending += [int(c) for c in (task / "children").read_text().split()]
    return found


@pytest.fixture
def tree() -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [sys.executable, "-c", TREE], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline() == "ready\n"
        deadline = time.monotonic() + 10
        while len(_tasks(process.pid)) < 4:  # the child's thread may not have started yet
            assert time.monotonic() < deadline, _tasks(process.pid)
            time.sleep(0.02)
        yield process
    finally:
        os.killpg(process.pid, 9)
        process.communicate()


def test_a_whole_tree_is_pinned(tree: subprocess.Popen[str]) -> None:
    one = frozenset(sorted(os.sched_getaffinity(0))[:1])
    assert pin_tree(tree.pid, one) == 2
    tasks = _tasks(tree.pid)
    assert len(tasks) == 4
    assert set(tasks.values()) == {one}


@pytest.mark.skipif(split_cpus() is None, reason="pinning splits the CPUs: this machine has one")
def test_a_pinned_run_pins_servers_started_anywhere(tree: subprocess.Popen[str]) -> None:
    # As most benchmarks start their servers: without `running`'s cpus.
    server = Server("tree", "http://127.0.0.1:1", Path("unused"), tree, Path("unused"))  # type: ignore[arg-type]
    contenders = [Contender("t", label, server, "put.lua", list) for label in ("one", "two")]
    options = parse_args(["--pin"], "bench", "test")
    split = pin_servers(contenders, options)
    assert split is not None
    assert split == options.cpus
    assert set(_tasks(tree.pid).values()) == {split[0]}


def test_pinning_is_off_unless_asked_for_or_turned_on() -> None:
    assert parse_args([], "bench", "test").cpus is None
    on = parse_args([], "bench", "test", lambda parser: parser.set_defaults(pin=True))
    assert on.pin
    off = parse_args(["--no-pin"], "bench", "test", lambda parser: parser.set_defaults(pin=True))
    assert off.cpus is None
