"""The per-process runtime: registry, watchdog, monitors, aggregates and stall listeners.

One :class:`Runtime` per worker process (``get_runtime()``) so that every instrumented app in
the process shares one watchdog thread. Everything here is bounded: stalls, time series and
recent requests live in ring buffers, label sets are capped.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from operator import sub
from typing import Any

from loopsight.runtime._types import Scope
from loopsight.runtime.background import BackgroundMonitor
from loopsight.runtime.records import Stall
from loopsight.runtime.registry import Registry, route_template
from loopsight.runtime.stats import REQUEST_BUCKETS, CounterSet, HistogramSet
from loopsight.runtime.threadpool import ThreadPoolMonitor, default_limiter
from loopsight.runtime.watchdog import Clock, LoopWatch, Watchdog

__all__ = ["RequestRecord", "Runtime", "SeriesPoint", "get_runtime", "reset_runtime"]

_log = logging.getLogger("loopsight")
_MAX_UNFLUSHED = 1 << 16
_Finished = tuple[int, Any, int, float, float]  # route id, method, status, start, end

StallListener = Callable[[Stall], None]


@dataclass(frozen=True)
class SeriesPoint:
    """One second of history: worst loop lag, thread-pool occupancy and requests in flight."""

    at: float
    lag_max: float
    borrowed: int
    total: int
    waiting: int
    in_flight: int


@dataclass(frozen=True)
class RequestRecord:
    """A finished request, as the trace export reads it from the ring buffer."""

    start: float
    end: float
    method: str
    route: str
    status: int


class Runtime:
    """Shared state of the instrumentation in one process."""

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
        # Finished requests as (route id, method, status, start, end), appended by the
        # middleware and folded into ``requests`` in bulk by flush_requests() (each tick, and
        # before any read). Bounded: should nothing flush (a stopped watchdog), the oldest
        # unflushed requests are dropped.
        self.finished: deque[_Finished] = deque(maxlen=_MAX_UNFLUSHED)
        self.started = 0  # requests the middleware began; in flight = started - flushed - queued
        self.flushed = 0
        self._flush_lock = threading.Lock()
        self.requests = HistogramSet(REQUEST_BUCKETS, max_series=max_series)
        self.stall_counts = CounterSet(max_series=max_series)
        self.stalls: deque[Stall] = deque(maxlen=max_stalls)
        self.series: deque[SeriesPoint] = deque(maxlen=history_seconds)
        # (start, end, method, route id, status): tuples, the cheapest thing to append.
        self.recent: deque[tuple[float, float, Any, int, int]] = deque(maxlen=trace_requests)
        # Off unless the trace export is wanted: then each request costs one more append.
        self.trace_requests = False
        # id(route object) -> (route object, its label); the ids key the request aggregates,
        # the object is kept so that its id is not reused.
        self.routes: dict[int, tuple[object, str]] = {}
        self.background = BackgroundMonitor(clock)
        self.pool = ThreadPoolMonitor(history=600)
        self.listeners: list[StallListener] = []
        self.shutdown_hooks: list[Callable[[], None]] = []
        # Called about once a second from the watchdog's tick (e.g. metrics flush): on the loop
        # thread in signal mode, on the monitor thread otherwise.
        self.tick_hooks: list[Callable[[], None]] = []
        self.extensions: dict[str, object] = {}
        self.watchdog = Watchdog(
            self.registry,
            self._on_stall,
            threshold=threshold,
            clock=clock,
            on_tick=self._on_tick,
            sampler=sampler,
        )
        self.loop: asyncio.AbstractEventLoop | None = None
        self.watch: LoopWatch | None = None
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

    # -- loop side -------------------------------------------------------------------------
    def attach(self, loop: asyncio.AbstractEventLoop) -> LoopWatch:
        """Start watching ``loop`` (call on its thread); cheap when already watched."""
        watch = self.watchdog.attach(loop)
        if watch.limiter is None:
            watch.limiter = default_limiter()
        self.loop, self.watch = loop, watch
        return watch

    def remember_route(self, route_id: int, route: object, scope: Scope) -> None:
        """Keep the route object behind an aggregate key (bounded like the label sets), with
        its label: the template behind the path of any mounts ``scope`` went through."""
        if len(self.routes) < self.requests.max_series:
            self.routes[route_id] = (route, route_template(scope) or "<unmatched>")

    def _label(self, route_id: object) -> str:
        if isinstance(route_id, str):
            return route_id  # the overflow label "<other>"
        entry = self.routes.get(route_id) if isinstance(route_id, int) else None
        return entry[1] if entry is not None else "<unmatched>"

    def flush_requests(self) -> None:
        """Fold the queued finished requests into the aggregates, from any thread.

        In bulk, so that most of the per-request work runs in C (``zip``, ``map``, ``sort``,
        ``bisect``) rather than as a dozen lines of Python per request.
        """
        with self._flush_lock:
            queue = self.finished
            count = len(queue)
            if not count:
                return
            # count pops: the middleware may append meanwhile.
            popleft = queue.popleft
            batch = [popleft() for _ in range(count)]
            self.flushed += count
            try:
                self._aggregate(batch)
            except Exception:  # a bad record must not stop the metrics for good
                _log.debug("loopsight could not aggregate %d requests", count, exc_info=True)

    def _aggregate(self, batch: list[_Finished]) -> None:
        route_ids, methods, statuses, starts, ends = zip(*batch, strict=True)
        keys = list(zip(route_ids, methods, statuses, strict=True))
        self.requests.observe_many(keys, list(map(sub, ends, starts)))
        if self.trace_requests:
            self.recent.extend(zip(starts, ends, methods, route_ids, statuses, strict=True))

    def in_flight(self) -> int:
        """HTTP requests being served (background phase included), from any thread."""
        return max(0, self.started - self.flushed - len(self.finished))

    def request_rows(self) -> dict[tuple[str, ...], list[float]]:
        """Request histograms keyed by (route template, method, status), for exporters."""
        self.flush_requests()
        rows: dict[tuple[str, ...], list[float]] = {}
        for (route, method, status), row in self.requests.snapshot().items():
            key = (self._label(route), str(method or "GET"), str(status or "none"))
            acc = rows.get(key)
            if acc is None:
                rows[key] = row
            else:
                rows[key] = [a + b for a, b in zip(acc, row, strict=True)]
        return rows

    def recent_requests(self) -> list[RequestRecord]:
        """The ring buffer of finished requests, labelled."""
        self.flush_requests()
        return [
            RequestRecord(start, end, str(method or "GET"), self._label(route), int(status))
            for start, end, method, route, status in list(self.recent)
        ]

    def stalled_until(self, now: float) -> float:
        """Cumulative stalled seconds of the current loop up to ``now``."""
        watch = self.watch
        if watch is None:
            return 0.0
        # LoopWatch.stalled_until, inlined: the middleware calls this once per response.
        overdue = now - watch.next_due
        return watch.stalled_total + (overdue if overdue >= watch.watchdog.threshold else 0.0)

    def run_shutdown_hooks(self) -> None:
        """Called once the app has finished its lifespan shutdown."""
        for hook in list(self.shutdown_hooks):
            try:
                hook()
            except Exception:
                _log.exception("loopsight shutdown hook failed")

    # -- monitor side ----------------------------------------------------------------------
    def _on_stall(self, stall: Stall) -> None:
        self.stalls.append(stall)
        if stall.starved:
            culprit = "<cpu-starved>"
        else:
            culprit = stall.culprit.location if stall.culprit is not None else "<unknown>"
        self.stall_counts.add((stall.activity.route_label, culprit), stall.duration)
        for listener in list(self.listeners):
            try:
                listener(stall)
            except Exception:
                _log.exception("loopsight stall listener failed")

    def _on_tick(self, watches: list[LoopWatch]) -> None:
        self.flush_requests()
        now = self.clock()
        window = self._window
        for watch in watches:
            if watch.limiter is not None:
                point = self.pool.sample(watch.limiter, self.watchdog.wall(now))
                if point is not None:
                    window[0] = max(window[0], point.borrowed)
                    window[1] = point.total
                    window[2] = max(window[2], point.waiting)
        window[3] = max(window[3], self.in_flight())
        if now - self._window_start >= 1.0:
            lag = 0.0
            for watch in watches:
                lag = max(lag, watch.window_max_lag)
                watch.window_max_lag = 0.0  # a lost update only loses one window's maximum
            self.series.append(SeriesPoint(self.watchdog.wall(now), lag, *window))
            self._window = [0, 0, 0, 0]
            self._window_start = now
            for hook in list(self.tick_hooks):
                try:
                    hook()
                except Exception:
                    _log.exception("loopsight periodic hook failed")

    def lag_histogram(self) -> tuple[list[int], float]:
        """Loop-lag bucket counts (``le`` buckets of ``LAG_BUCKETS`` plus +Inf) and their sum."""
        return list(self.watchdog.lag_counts), self.watchdog.lag_sum

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
