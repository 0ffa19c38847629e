"""How the hammering test clients back off after a refusal, as real clients do.

Full jitter ("Exponential Backoff And Jitter", AWS Architecture Blog,
2015), in units of the client's own round trip: clients refused together
do not come back together, and a slow server is not asked faster than it
answers. Without it 16 clients spend most of their requests on reads and
writes that lose the race anyway, which proves nothing more and costs the
suite minutes.
"""

from __future__ import annotations

import random


def backoff(refusals: int, round_trip: float) -> float:
    """Seconds to pause after the `refusals`-th refusal in a row: up to 32 round trips."""
    return random.uniform(0, round_trip * 2 ** min(refusals, 5))
