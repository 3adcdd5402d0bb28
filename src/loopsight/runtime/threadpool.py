"""Thread-pool monitor: anyio's default ``CapacityLimiter``, sampled at the watchdog's tick.

Sync routes, sync dependencies and sync background tasks all borrow a token of this limiter
(40 by default); when every token is out, requests queue behind it. The limiter is fetched on
the loop thread (anyio binds it to the running loop) and then only read: attribute reads and
``statistics()`` copy under the GIL without running loop code.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["PoolSample", "ThreadPoolMonitor", "default_limiter"]

_log = logging.getLogger("loopsight")


@dataclass(frozen=True)
class PoolSample:
    """Limiter occupancy at one instant (``at`` is Unix time)."""

    at: float
    borrowed: int
    total: int
    waiting: int

    @property
    def saturated(self) -> bool:
        """Every token is out, or tasks are queued for one."""
        return self.borrowed >= self.total or self.waiting > 0


def default_limiter() -> Any | None:
    """anyio's default thread limiter for the running loop, or ``None`` outside anyio."""
    try:
        import anyio.to_thread

        return anyio.to_thread.current_default_thread_limiter()
    except Exception:  # not under an anyio-supported loop; the pool is simply not watched
        return None


class ThreadPoolMonitor:
    """Keeps recent samples and counts saturation episodes (start to end)."""

    def __init__(self, history: int = 600, on_saturation: Callable[[str], None] | None = None):
        self.samples: deque[PoolSample] = deque(maxlen=history)
        self.last: PoolSample | None = None
        self.saturations = 0
        self.saturated_seconds = 0.0
        self._since: float | None = None
        self._worst: PoolSample | None = None
        self._on_saturation = on_saturation or (lambda line: _log.warning("%s", line))

    def sample(self, limiter: Any, now: float) -> PoolSample | None:
        """Read ``limiter`` and record the sample; ``None`` if it cannot be read."""
        try:
            stats = limiter.statistics()
            point = PoolSample(
                at=now,
                borrowed=int(stats.borrowed_tokens),
                total=int(stats.total_tokens),
                waiting=int(stats.tasks_waiting),
            )
        except Exception:  # a limiter of another shape: nothing to report
            return None
        self.record(point)
        return point

    def record(self, point: PoolSample) -> None:
        """Track saturation episodes; report each one when it ends."""
        self.samples.append(point)
        self.last = point
        if point.saturated:
            if self._since is None:
                self._since = point.at
                self.saturations += 1
                self._worst = point
            elif self._worst is None or point.waiting > self._worst.waiting:
                self._worst = point
        elif self._since is not None:
            seconds = point.at - self._since
            self.saturated_seconds += seconds
            worst = self._worst or point
            self._since = None
            self._on_saturation(
                f"thread pool saturated for {seconds * 1000:.0f} ms "
                f"({worst.borrowed}/{worst.total} tokens, up to {worst.waiting} tasks waiting)"
            )
