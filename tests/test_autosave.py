"""The autosave experiment (bench/autosave.py): its oracle, and a short run of all three modes.

The oracle is checked on histories written by hand, where the lost edits
are known; the experiment then runs against real service processes, and
must show what the case study is about: blind PUTs lose edits, If-Match
PUTs and merge PATCHes lose none, and the merge shows users far fewer
conflicts than If-Match does.
"""

from __future__ import annotations

import argparse

from bench.autosave import Outcome, parse_args, run_mode
from bench.autosave_oracle import Lost, Save, lost_updates
from bench.autosave_tabs import MODES


def test_an_edit_a_stale_copy_overwrote_is_lost() -> None:
    """Tab 1 saves a; tab 2 saves b with its stale copy of a: a is lost, once."""
    history = [
        ("e1", {"a": "", "b": ""}),
        ("e2", {"a": "a1", "b": ""}),
        ("e3", {"a": "", "b": "b1"}),  # tab 2's copy still had a = ""
        ("e4", {"a": "", "b": "b2"}),  # a stays lost: counted once
    ]
    saves = {"e2": Save(1, {"a": "a1"}), "e3": Save(2, {"b": "b1"}), "e4": Save(2, {"b": "b2"})}
    assert lost_updates("d", history, saves) == [Lost("d", "a", "a1", 1, 3, 2)]


def test_an_edit_a_later_edit_replaced_is_not_lost() -> None:
    """The users' last word: two edits of one field, and a merged write of another."""
    history = [
        ("e1", {"t": "", "a": ""}),
        ("e2", {"t": "one", "a": ""}),
        ("e3", {"t": "two", "a": ""}),
        ("e4", {"t": "two", "a": "a1"}),
    ]
    saves = {
        "e2": Save(1, {"t": "one"}),
        "e3": Save(2, {"t": "two"}),
        "e4": Save(1, {"a": "a1"}),
    }
    assert lost_updates("d", history, saves) == []


def test_a_restored_field_still_counts_the_overwritten_edit() -> None:
    """a1 overwritten, then tab 1 writes a1's successor: a1 was lost, a2 was not."""
    history = [
        ("e1", {"a": ""}),
        ("e2", {"a": "a1"}),
        ("e3", {"a": ""}),
        ("e4", {"a": "a2"}),
    ]
    saves = {"e2": Save(1, {"a": "a1"}), "e3": Save(2, {}), "e4": Save(1, {"a": "a2"})}
    assert lost_updates("d", history, saves) == [Lost("d", "a", "a1", 1, 3, 2)]


def test_a_short_run_of_the_three_modes() -> None:
    options: argparse.Namespace = parse_args(["--saves", "25", "--interval-ms", "30"])
    outcomes: dict[str, Outcome] = {mode: run_mode(mode, options) for mode in MODES}
    blind, put, merge = outcomes.values()
    every = options.tabs * options.saves
    assert blind.saves == put.saves == merge.saves == every
    assert blind.lost > 0
    assert put.lost == merge.lost == 0
    assert put.conflicts > every // 4  # saves from other tabs land between nearly every two
    assert merge.conflicts < put.conflicts / 5
