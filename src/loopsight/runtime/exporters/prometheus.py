"""Prometheus exporter through ``prometheus_client``, multi-process aware.

Requests and lag are aggregated lock-free by the runtime; this exporter copies the deltas into
ordinary ``prometheus_client`` metrics about once a second (the watchdog's tick) and before each
scrape. Under ``PROMETHEUS_MULTIPROC_DIR`` those metrics live in the per-process mmap files, so
any worker's scrape reports all workers (gauges use ``livesum``).
"""

from __future__ import annotations

import os
import threading
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from loopsight.runtime.core import Runtime
from loopsight.runtime.stats import LAG_BUCKETS, REQUEST_BUCKETS

__all__ = ["PrometheusExporter", "prometheus_exporter"]

_Rows = dict[tuple[str, ...], list[float]]


def _multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def _inc_histogram(child: Any, delta: list[float]) -> None:
    # prometheus_client keeps non-cumulative bucket values in _buckets and the sum in _sum;
    # adding a batch there is what observe() does one value at a time.
    for index, count in enumerate(delta[:-1]):
        if count:
            child._buckets[index].inc(count)
    if delta[-1]:
        child._sum.inc(delta[-1])


class PrometheusExporter:
    """Owns the ``prometheus_client`` metrics of one runtime; ``render()`` is a scrape."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.lag = Histogram(
            "loopsight_loop_lag_seconds",
            "Event-loop lag: how late the heartbeat ran.",
            buckets=LAG_BUCKETS,
            registry=r,
        )
        self.request_duration = Histogram(
            "loopsight_request_duration_seconds",
            "HTTP request duration by route template, method and status.",
            ["route", "method", "status"],
            buckets=REQUEST_BUCKETS,
            registry=r,
        )
        self.stalls = Counter(
            "loopsight_stalls", "Event-loop stalls by route and culprit.", ["route", "culprit"],
            registry=r,
        )  # fmt: skip
        self.stall_seconds = Counter(
            "loopsight_stall_seconds", "Seconds the loop was stalled, by route and culprit.",
            ["route", "culprit"], registry=r,
        )  # fmt: skip
        self.in_flight = Gauge(
            "loopsight_requests_in_flight", "HTTP requests in flight.",
            registry=r, multiprocess_mode="livesum",
        )  # fmt: skip
        self.pool_borrowed = Gauge(
            "loopsight_threadpool_borrowed_tokens", "anyio default limiter: tokens borrowed.",
            registry=r, multiprocess_mode="livesum",
        )  # fmt: skip
        self.pool_total = Gauge(
            "loopsight_threadpool_total_tokens", "anyio default limiter: total tokens.",
            registry=r, multiprocess_mode="livesum",
        )  # fmt: skip
        self.pool_waiting = Gauge(
            "loopsight_threadpool_tasks_waiting", "anyio default limiter: tasks waiting.",
            registry=r, multiprocess_mode="livesum",
        )  # fmt: skip
        self.pool_saturations = Counter(
            "loopsight_threadpool_saturations", "Thread-pool saturation episodes.", registry=r
        )
        self.bg_tasks = Counter(
            "loopsight_background_tasks", "Background tasks run, by task and outcome.",
            ["task", "outcome"], registry=r,
        )  # fmt: skip
        self.bg_duration = Histogram(
            "loopsight_background_task_duration_seconds", "Background task duration.",
            ["task"], buckets=REQUEST_BUCKETS, registry=r,
        )  # fmt: skip
        self.bg_running = Gauge(
            "loopsight_background_tasks_running", "Background tasks running now.",
            registry=r, multiprocess_mode="livesum",
        )  # fmt: skip
        self._lock = threading.Lock()
        self._seen: dict[str, _Rows] = {}
        self._seen_lag: list[float] = [0.0] * (len(LAG_BUCKETS) + 2)
        self._seen_saturations = 0

    def _deltas(self, name: str, rows: _Rows) -> list[tuple[tuple[str, ...], list[float]]]:
        seen = self._seen.setdefault(name, {})
        out = []
        for key, row in rows.items():
            before = seen.get(key)
            delta = row if before is None else [a - b for a, b in zip(row, before, strict=True)]
            if any(delta):
                out.append((key, delta))
            seen[key] = row
        return out

    def sync(self) -> None:
        """Copy what changed since the last sync into the ``prometheus_client`` metrics."""
        rt = self.runtime
        with self._lock:
            for key, delta in self._deltas("requests", rt.request_rows()):
                _inc_histogram(self.request_duration.labels(*key), delta)
            for key, delta in self._deltas("stalls", rt.stall_counts.snapshot()):
                self.stalls.labels(*key).inc(delta[0])
                self.stall_seconds.labels(*key).inc(delta[1])
            for key, delta in self._deltas("bg", rt.background.outcomes.snapshot()):
                self.bg_tasks.labels(*key).inc(delta[0])
            for key, delta in self._deltas("bg_duration", rt.background.durations.snapshot()):
                _inc_histogram(self.bg_duration.labels(*key), delta)
            counts, total = rt.lag_histogram()
            lag_row = [float(c) for c in counts] + [total]
            _inc_histogram(self.lag, [a - b for a, b in zip(lag_row, self._seen_lag, strict=True)])
            self._seen_lag = lag_row
            saturations = rt.pool.saturations
            if saturations > self._seen_saturations:
                self.pool_saturations.inc(saturations - self._seen_saturations)
                self._seen_saturations = saturations
            self.in_flight.set(rt.in_flight())
            self.bg_running.set(rt.background.running)
            pool = rt.pool.last
            if pool is not None:
                self.pool_borrowed.set(pool.borrowed)
                self.pool_total.set(pool.total)
                self.pool_waiting.set(pool.waiting)

    def render(self) -> tuple[bytes, str]:
        """Sync, then the text exposition (all workers' under multi-process mode)."""
        self.sync()
        directory = _multiprocess_dir()
        if directory:
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


_create_lock = threading.Lock()


def prometheus_exporter(runtime: Runtime) -> PrometheusExporter:
    """The runtime's exporter, created once and then synced every second by the monitor."""
    with _create_lock:
        exporter = runtime.extensions.get("prometheus")
        if not isinstance(exporter, PrometheusExporter):
            exporter = PrometheusExporter(runtime)
            runtime.extensions["prometheus"] = exporter
            runtime.tick_hooks.append(exporter.sync)
        return exporter
