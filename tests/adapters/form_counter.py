"""Clients editing one counter through its HTML form at once: each save the count it showed + 1.

A pure counter (no client marker in what is saved): the final count must
equal the saves the clients were told succeeded (a redirect). A save
refused as stale (by default the form shown again with an error: someone
else saved first; `stale` says otherwise) has its form opened again.
Shared by the Django, Flask and FastAPI form tests.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

import httpx

from tests.adapters.admin_pages import OpenForm, errors

#: Tries of one increment (each reopening a stale form) before a client gives up.
TRIES = 50


@dataclass
class Tally:
    """What the clients were told: saves, stale forms reopened, anything else."""

    saved: int = 0
    stale: int = 0
    failures: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def assert_exact(self, final: int, saves: int) -> None:
        """Every client saved its increments, and the count is the number of saves."""
        assert self.failures == []
        assert self.saved == saves
        assert final == self.saved, (
            f"{self.saved} saves, the count says {final} ({self.stale} stale)"
        )


def edit_at_once(
    client_for: Callable[[int], AbstractContextManager[httpx.Client]],
    open_form: Callable[[httpx.Client], OpenForm],
    save: Callable[[httpx.Client, OpenForm, str], httpx.Response],
    *,
    clients: int,
    increments: int,
    stale: Callable[[httpx.Response], bool] | None = None,
    field: str = "count",
) -> Tally:
    """`clients` threads, client n with `client_for(n)`, each saving `increments` increments.

    `field`: the form's input that holds the count.
    """
    refused = stale if stale is not None else _shown_again
    tally = Tally()

    def run(number: int) -> None:
        with client_for(number) as http:
            for _ in range(increments):
                for _ in range(TRIES):
                    form = open_form(http)
                    answer = save(http, form, str(int(form.values[field]) + 1))
                    if answer.status_code in (302, 303):
                        with tally._lock:
                            tally.saved += 1
                        break
                    if not refused(answer):
                        with tally._lock:
                            tally.failures.append(f"{answer.status_code}: {answer.text[:300]}")
                        return
                    with tally._lock:
                        tally.stale += 1  # the form again, saying someone else saved

    threads = [threading.Thread(target=run, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return tally


def _shown_again(answer: httpx.Response) -> bool:
    """The form shown again with its errors (someone else saved first)."""
    return answer.status_code == 200 and bool(errors(answer.text))
