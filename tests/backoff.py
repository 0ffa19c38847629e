"""How the hammering test clients back off after a refusal, as real clients do.

Full jitter ("Exponential Backoff And Jitter", AWS Architecture Blog,
2015), in units of the client's own round trip: clients refused together
do not come back together, and a slow server is not asked faster than it
answers. Without it 16 clients spend most of their requests on reads and
writes that lose the race anyway, which proves nothing more and costs the
suite minutes.

A pause is never longer than `LONGEST`, well inside the servers' 5 s
keep-alive: on a busy machine 32 round trips can reach 10 s, the server
closes the idle connection, and a request sent just as it closes gets no
answer (HTTP/1.1's keep-alive race, which no hammer is about).
"""

from __future__ import annotations

import random

LONGEST = 1.0


def backoff(refusals: int, round_trip: float) -> float:
    """Seconds to pause after the `refusals`-th refusal in a row: up to 32 round trips, or 1 s."""
    return random.uniform(0, min(round_trip * 2 ** min(refusals, 5), LONGEST))
