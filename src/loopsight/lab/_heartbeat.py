"""A heartbeat on the lab server's event loop: how long the loop could not run.

A task sleeps ``interval`` again and again; when it wakes more than ``threshold`` late, the loop
was blocked for the lateness. The lab reads the running total before and after each scenario.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

__all__ = ["STATS_PATH", "Heartbeat"]

STATS_PATH = "/_lab/stats"
"""Where the lab app serves the heartbeat's totals; the runner reads them there."""


class Heartbeat:
    """Accumulates the time the loop was blocked, as seen from a sleeping task."""

    def __init__(
        self,
        interval: float = 0.005,
        threshold: float = 0.030,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.interval = interval
        self.threshold = threshold
        self.clock = clock
        self.blocked_s = 0.0
        self.stalls = 0
        self.beats = 0

    def beat(self, slept_s: float) -> None:
        """Record one wake-up that came ``slept_s`` after going to sleep."""
        self.beats += 1
        late = slept_s - self.interval
        if late >= self.threshold:
            self.blocked_s += late
            self.stalls += 1

    async def run(self) -> None:
        """Beat until cancelled."""
        while True:
            before = self.clock()
            await asyncio.sleep(self.interval)
            self.beat(self.clock() - before)

    def snapshot(self) -> dict[str, float]:
        """The running totals, for the lab's stats endpoint."""
        return {"blocked_s": self.blocked_s, "stalls": self.stalls, "beats": self.beats}
