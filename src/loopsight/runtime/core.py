"""The per-process runtime: the stall spine, the request log, the monitors, and snapshots.

One :class:`Runtime` per worker process (``get_runtime()``) so that every instrumented app in
the process shares one watchdog. Data flows one way: heartbeat and sampler (the
:class:`Watchdog`) -> :class:`~loopsight.runtime.builder.StallBuilder` -> one frozen
:class:`Stall`, published once into the stall log and to the listeners; :meth:`Runtime.snapshot`
copies everything into plain data for the exporters. Everything is bounded: stalls, time series
and recent requests live in ring buffers, label sets are capped.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from loopsight.runtime.background import BackgroundMonitor
from loopsight.runtime.records import Stall
from loopsight.runtime.registry import Registry
from loopsight.runtime.requests import RequestLog
from loopsight.runtime.snapshot import BackgroundState, PoolState, SeriesPoint, Snapshot
from loopsight.runtime.stats import CounterSet
from loopsight.runtime.threadpool import ThreadPoolMonitor, default_limiter
from loopsight.runtime.watchdog import Clock, LoopWatch, Watchdog

__all__ = ["Runtime", "get_runtime", "reset_runtime"]

if TYPE_CHECKING:
    from loopsight.joins import FindingIndex

_log = logging.getLogger("loopsight")

StallListener = Callable[[Stall], None]
SnapshotListener = Callable[[Snapshot], None]


class Runtime:
    """Shared state of the instrumentation in one process.

    Exporters subscribe with :meth:`add_listener` (each stall, once published) or
    :meth:`add_tick_listener` (a snapshot about once a second), or read :meth:`snapshot`.
    """

    def __init__(
        self,
        *,
        threshold: float = 0.1,
        clock: Clock = time.perf_counter,
        max_stalls: int = 1000,
        history_seconds: int = 3600,
        trace_requests: int = 4096,
        max_series: int = 500,
        sampler: str = "auto",
    ) -> None:
        self.clock = clock
        self.registry = Registry()
        self.requests = RequestLog(max_series=max_series, trace_requests=trace_requests)
        self.stall_counts = CounterSet(max_series=max_series)
        self.stalls: deque[Stall] = deque(maxlen=max_stalls)
        self.series: deque[SeriesPoint] = deque(maxlen=history_seconds)
        self.background = BackgroundMonitor(clock)
        self.pool = ThreadPoolMonitor(history=600)
        self.listeners: list[StallListener] = []
        self.tick_listeners: list[SnapshotListener] = []
        self.shutdown_hooks: list[Callable[[], None]] = []
        # loopsight check's findings for the stalls' culprits (``loopsight run`` sets it).
        self.findings: Callable[[], FindingIndex | None] | None = None
        self.watchdog = Watchdog(
            self.registry,
            self._publish,
            threshold=threshold,
            clock=clock,
            on_tick=self._on_tick,
            sampler=sampler,
        )
        self.loop: asyncio.AbstractEventLoop | None = None
        self.watch: LoopWatch | None = None
        self.limiters: dict[LoopWatch, Any] = {}  # anyio's default limiter of each loop
        self._window_start = clock()
        self._window: list[int] = [0, 0, 0, 0]  # max borrowed, total, max waiting, max in flight

    # -- configuration ---------------------------------------------------------------------
    @property
    def threshold(self) -> float:
        """Seconds of heartbeat delay that count as a stall."""
        return self.watchdog.threshold

    @threshold.setter
    def threshold(self, seconds: float) -> None:
        if seconds <= 0:
            raise ValueError("stall threshold must be positive")
        self.watchdog.threshold = seconds

    def add_listener(self, listener: StallListener) -> None:
        """Call ``listener(stall)`` for every stall (from the loop's thread in signal mode, from the
        monitor thread otherwise)."""
        if listener not in self.listeners:
            self.listeners.append(listener)

    def remove_listener(self, listener: StallListener) -> None:
        """Stop calling ``listener``."""
        if listener in self.listeners:
            self.listeners.remove(listener)

    def add_tick_listener(self, listener: SnapshotListener) -> None:
        """Call ``listener(snapshot)`` about once a second, from the watchdog's tick."""
        if listener not in self.tick_listeners:
            self.tick_listeners.append(listener)

    # -- loop side -------------------------------------------------------------------------
    def attach(self, loop: asyncio.AbstractEventLoop) -> LoopWatch:
        """Start watching ``loop`` (call on its thread); cheap when already watched."""
        watch = self.watchdog.attach(loop)
        if self.limiters.get(watch) is None:
            self.limiters[watch] = default_limiter()
        self.loop, self.watch = loop, watch
        return watch

    def trace_requests(self) -> None:
        """Keep finished requests in a ring buffer from now on (the trace export's input)."""
        self.requests.trace = True

    def in_flight(self) -> int:
        """HTTP requests being served (background phase included), from any thread."""
        return self.requests.in_flight()

    def request_rows(self) -> dict[tuple[str, ...], list[float]]:
        """Request histograms keyed by (route template, method, status)."""
        return self.requests.rows()

    def run_shutdown_hooks(self) -> None:
        """Called once the app has finished its lifespan shutdown."""
        for hook in list(self.shutdown_hooks):
            try:
                hook()
            except Exception:
                _log.exception("loopsight shutdown hook failed")

    # -- reading -----------------------------------------------------------------------------
    def snapshot(self, *, recent_requests: bool = False) -> Snapshot:
        """Everything exporters read, copied as plain data, from any thread.

        ``recent_requests`` also labels the ring buffer of finished requests (the trace
        export's input: one record per request kept, so only when asked).
        """
        wd, pool, bg = self.watchdog, self.pool, self.background
        stalls = tuple(self.stalls)
        return Snapshot(
            pid=os.getpid(),
            threshold=wd.threshold,
            stall_count=wd.stall_count,
            stalls=stalls,
            stall_counts=self.stall_counts.snapshot(),
            requests=self.requests.rows(),
            in_flight=self.requests.in_flight(),
            lag_counts=tuple(wd.lag_counts),
            lag_sum=wd.lag_sum,
            series=tuple(self.series),
            pool=PoolState(pool.last, tuple(pool.samples), pool.saturations),
            background=BackgroundState(
                bg.running, bg.outcomes.snapshot(), bg.durations.snapshot(), tuple(bg.failures)
            ),
            recent_requests=tuple(self.requests.records(wd.wall_offset)) if recent_requests else (),
            queued=self.requests.queued_rows(),
            findings=self.findings() if self.findings is not None else None,
        )

    def settle(self) -> None:
        """Block for three heartbeats: long enough for a stall that just ended to be closed
        and published (call off the loop)."""
        time.sleep(3 * self.watchdog.interval)

    async def published(self, timeout: float = 0.25) -> None:
        """Wait (at most ``timeout`` s) until every stall that has ended is published.

        Readers of the stall list call this first, so a stall that ended just before the read
        (in thread mode the monitor publishes it at its next wake-up) is in the answer.
        """
        deadline = time.monotonic() + timeout  # real time, whatever clock the watchdog reads
        # Polled, not an Event: the monitor thread publishes without touching the loop.
        while self.watchdog.running and self.watchdog.pending():
            if time.monotonic() >= deadline:
                return
            await asyncio.sleep(self.watchdog.sample_interval)

    def close(self) -> None:
        """Stop the watchdog thread and restore patched classes."""
        self.watchdog.close()
        self.background.uninstall()

    # -- monitor side ----------------------------------------------------------------------
    def _publish(self, stall: Stall) -> None:
        """The end of the spine: store the finished stall, count it, tell the listeners."""
        self.stalls.append(stall)
        self.stall_counts.add(stall.group_key, stall.duration)
        for listener in list(self.listeners):
            try:
                listener(stall)
            except Exception:
                _log.exception("loopsight stall listener failed")

    def _on_tick(self, watches: list[LoopWatch]) -> None:
        self.requests.flush()
        now = self.clock()
        self._sample_pools(watches, now)
        window = self._window
        window[3] = max(window[3], self.requests.in_flight())
        if now - self._window_start >= 1.0:
            lag = max((watch.take_window_lag() for watch in watches), default=0.0)
            self.series.append(SeriesPoint(self.watchdog.wall(now), lag, *window))
            self._window = [0, 0, 0, 0]
            self._window_start = now
            self._tell_tick_listeners()

    def _sample_pools(self, watches: list[LoopWatch], now: float) -> None:
        """Sample each watched loop's thread limiter into the pool monitor and the window."""
        if len(self.limiters) > len(watches):  # forget the limiters of loops gone
            self.limiters = {w: self.limiters[w] for w in watches if w in self.limiters}
        window = self._window
        for watch in watches:
            limiter = self.limiters.get(watch)
            if limiter is not None:
                point = self.pool.sample(limiter, self.watchdog.wall(now))
                if point is not None:
                    window[0] = max(window[0], point.borrowed)
                    window[1] = point.total
                    window[2] = max(window[2], point.waiting)

    def _tell_tick_listeners(self) -> None:
        if not self.tick_listeners:
            return
        snapshot = self.snapshot()
        for listener in list(self.tick_listeners):
            try:
                listener(snapshot)
            except Exception:
                _log.exception("loopsight periodic listener failed")


_runtime: Runtime | None = None
_runtime_lock = threading.Lock()


def get_runtime() -> Runtime:
    """The process-wide runtime, created on first use."""
    global _runtime
    if _runtime is None:
        with _runtime_lock:
            if _runtime is None:
                _runtime = Runtime()
    return _runtime


def reset_runtime() -> None:
    """Close and forget the process-wide runtime (tests, or re-configuration)."""
    global _runtime
    with _runtime_lock:
        if _runtime is not None:
            _runtime.close()
        _runtime = None
