"""Prometheus exporter: the text exposition of a snapshot, multi-process aware.

A scrape renders :class:`~loopsight.runtime.snapshot.Snapshot` through a ``prometheus_client``
custom collector (the public ``Metric`` API), so the runtime's lock-free aggregates are exposed
as they are, without copying them into metric objects. Under ``PROMETHEUS_MULTIPROC_DIR`` each
worker also writes its snapshot's values into ``prometheus_client``'s per-process files, about
once a second and before each scrape, so any worker's scrape reports all workers (gauges use
``livesum``).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.utils import floatToGoString

from loopsight.runtime.exporters._registry import Render, endpoint
from loopsight.runtime.snapshot import Rows, Snapshot

if TYPE_CHECKING:
    from loopsight.runtime.core import Runtime

__all__ = ["PrometheusExporter"]

SnapshotSource = Callable[[], Snapshot]


class _Family(NamedTuple):
    """One metric as exposed: name, type, help, label names."""

    name: str
    kind: str  # "histogram", "counter" or "gauge"
    help: str
    labels: tuple[str, ...] = ()


LAG = _Family(
    "loopsight_loop_lag_seconds", "histogram", "Event-loop lag: how late the heartbeat ran."
)
REQUESTS = _Family(
    "loopsight_request_duration_seconds", "histogram",
    "HTTP request duration by route template, method and status.", ("route", "method", "status"),
)  # fmt: skip
STALLS = _Family(
    "loopsight_stalls", "counter", "Event-loop stalls by route and culprit.", ("route", "culprit")
)
STALL_SECONDS = _Family(
    "loopsight_stall_seconds", "counter", "Seconds the loop was stalled, by route and culprit.",
    ("route", "culprit"),
)  # fmt: skip
QUEUED = _Family(
    "loopsight_queued_requests", "counter",
    "HTTP requests that started right after a stall (most likely waiting through it).",
    ("route", "method"),
)  # fmt: skip
QUEUED_SECONDS = _Family(
    "loopsight_queued_seconds", "counter",
    "Seconds of the stalls that requests started right after, by route and method.",
    ("route", "method"),
)  # fmt: skip
IN_FLIGHT = _Family("loopsight_requests_in_flight", "gauge", "HTTP requests in flight.")
POOL_BORROWED = _Family(
    "loopsight_threadpool_borrowed_tokens", "gauge", "anyio default limiter: tokens borrowed."
)
POOL_TOTAL = _Family(
    "loopsight_threadpool_total_tokens", "gauge", "anyio default limiter: total tokens."
)
POOL_WAITING = _Family(
    "loopsight_threadpool_tasks_waiting", "gauge", "anyio default limiter: tasks waiting."
)
POOL_SATURATIONS = _Family(
    "loopsight_threadpool_saturations", "counter", "Thread-pool saturation episodes."
)
BG_TASKS = _Family(
    "loopsight_background_tasks", "counter", "Background tasks run, by task and outcome.",
    ("task", "outcome"),
)  # fmt: skip
BG_DURATION = _Family(
    "loopsight_background_task_duration_seconds", "histogram", "Background task duration.",
    ("task",),
)  # fmt: skip
BG_RUNNING = _Family("loopsight_background_tasks_running", "gauge", "Background tasks running now.")

# One value per label set: a histogram row ([bucket counts..., +Inf, sum]) or a number.
_Values = list[tuple[tuple[str, ...], Any]]


def _pool(snap: Snapshot, field: str) -> float:
    last = snap.pool.last
    return float(getattr(last, field)) if last is not None else 0.0


def _values(snap: Snapshot) -> list[tuple[_Family, tuple[float, ...], _Values]]:
    """Every metric with its bucket bounds (histograms) and its values, in exposition order."""
    return [
        (LAG, snap.lag_bounds, [((), [*map(float, snap.lag_counts), snap.lag_sum])]),
        (REQUESTS, snap.request_bounds, list(snap.requests.items())),
        (STALLS, (), _column(snap.stall_counts, 0)),
        (STALL_SECONDS, (), _column(snap.stall_counts, 1)),
        (QUEUED, (), _column(snap.queued, 0)),
        (QUEUED_SECONDS, (), _column(snap.queued, 1)),
        (IN_FLIGHT, (), [((), float(snap.in_flight))]),
        (POOL_BORROWED, (), [((), _pool(snap, "borrowed"))]),
        (POOL_TOTAL, (), [((), _pool(snap, "total"))]),
        (POOL_WAITING, (), [((), _pool(snap, "waiting"))]),
        (POOL_SATURATIONS, (), [((), float(snap.pool.saturations))]),
        (BG_TASKS, (), _column(snap.background.outcomes, 0)),
        (BG_DURATION, snap.request_bounds, list(snap.background.durations.items())),
        (BG_RUNNING, (), [((), float(snap.background.running))]),
    ]


def _column(rows: Rows, index: int) -> _Values:
    return [(key, row[index]) for key, row in rows.items()]


def _samples(
    family: _Family, bounds: Sequence[float], value: Any, *, cumulative: bool = True
) -> Iterator[tuple[str, tuple[str, ...], float]]:
    """(sample suffix, extra label value, value) for one label set, as prometheus_client's own
    metrics expose them: ``_bucket``s, ``_count`` and ``_sum`` for a histogram (buckets not
    ``cumulative`` in the multiprocess files, where the collector adds them up)."""
    if family.kind == "histogram":
        total = 0.0
        for bound, count in zip([*bounds, float("inf")], value[:-1], strict=True):
            total += count
            le = floatToGoString(bound)  # type: ignore[no-untyped-call]
            yield "_bucket", (le,), total if cumulative else count
        yield "_count", (), total
        yield "_sum", (), value[-1]
    elif family.kind == "counter":
        yield "_total", (), value
    else:
        yield "", (), value


class _SnapshotCollector:
    """A ``prometheus_client`` collector that renders one snapshot per scrape."""

    def __init__(self, source: SnapshotSource) -> None:
        self.source = source
        self._since = time.time()
        self._created: dict[tuple[str, tuple[str, ...]], float] = {}

    def collect(self) -> Iterator[Metric]:
        """The metric families of a fresh snapshot."""
        for family, bounds, values in _values(self.source()):
            metric = Metric(family.name, family.help, family.kind)
            for key, value in values:
                labels = dict(zip(family.labels, map(str, key), strict=True))
                for suffix, extra, number in _samples(family, bounds, value):
                    named = {**labels, "le": extra[0]} if extra else labels
                    metric.add_sample(family.name + suffix, named, number)
                if family.kind != "gauge":  # as prometheus_client's counters and histograms
                    created = self._created.setdefault((family.name, key), self._first(key))
                    metric.add_sample(family.name + "_created", labels, created)
            yield metric

    def _first(self, key: tuple[str, ...]) -> float:
        return self._since if not key else time.time()


class _ProcessFiles:
    """Writes a snapshot's values into this process's ``prometheus_client`` multiprocess
    files, where :class:`~prometheus_client.multiprocess.MultiProcessCollector` sums them."""

    def __init__(self) -> None:
        from prometheus_client import values

        self._value_class = values.ValueClass
        self._values: dict[tuple[str, tuple[str, ...]], Any] = {}
        self._lock = threading.Lock()

    def write(self, snap: Snapshot) -> None:
        """Set every value to this process's current total (absolute: nothing to remember)."""
        with self._lock:
            for family, bounds, values in _values(snap):
                names = family.labels
                for key, value in values:
                    for suffix, extra, number in _samples(family, bounds, value, cumulative=False):
                        if suffix == "_count":
                            continue  # the collector counts the +Inf bucket
                        labels = (*names, "le") if extra else names
                        self._value(family, suffix, labels, (*key, *extra)).set(number)

    def _value(
        self, family: _Family, suffix: str, names: tuple[str, ...], labels: tuple[str, ...]
    ) -> Any:
        sample = family.name + suffix
        value = self._values.get((sample, labels))
        if value is None:
            mode = {"multiprocess_mode": "livesum"} if family.kind == "gauge" else {}
            value = self._value_class(
                family.kind, family.name, sample, names, labels, family.help, **mode
            )
            self._values[(sample, labels)] = value
        return value


def _multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class PrometheusExporter:
    """Scrapes of the snapshots ``source`` returns (``Runtime.snapshot``, say).

    Under ``PROMETHEUS_MULTIPROC_DIR``, call :meth:`write` about once a second (a tick
    listener) so that the other workers' scrapes see this one's values.
    """

    def __init__(self, source: SnapshotSource) -> None:
        self.source = source
        self.registry = CollectorRegistry()
        self.registry.register(_SnapshotCollector(source))
        self._files = _ProcessFiles() if _multiprocess_dir() else None

    @property
    def multiprocess(self) -> bool:
        """True under ``PROMETHEUS_MULTIPROC_DIR``: then :meth:`write` must run each second."""
        return self._files is not None

    def write(self, snap: Snapshot) -> None:
        """Multi-process mode: publish ``snap`` to the other workers; otherwise nothing."""
        if self._files is not None:
            self._files.write(snap)

    def render(self) -> tuple[bytes, str]:
        """The text exposition (all workers' under multi-process mode)."""
        directory = _multiprocess_dir()
        if directory and self._files is not None:
            from prometheus_client import multiprocess

            self._files.write(self.source())
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


@endpoint("metrics")
def _serve(runtime: Runtime) -> Render:
    exporter = PrometheusExporter(runtime.snapshot)
    if exporter.multiprocess:  # the other workers read this one's values
        runtime.add_tick_listener(exporter.write)
    return exporter.render
