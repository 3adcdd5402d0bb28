"""What the runtime knows at one instant, as plain data: the one input of every exporter.

Like pyinstrument's ``Session``: :meth:`Runtime.snapshot` copies the stall log, the aggregates
and the monitors' state into frozen records of strings, numbers, tuples and dicts; exporters
(``loopsight.runtime.exporters``) and ``loopsight run``'s summary read only this, never a
component's fields, so a new exporter is one module reading a :class:`Snapshot`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from loopsight.runtime.background import BackgroundFailure
from loopsight.runtime.records import Stall
from loopsight.runtime.requests import RequestRecord
from loopsight.runtime.stats import LAG_BUCKETS, REQUEST_BUCKETS
from loopsight.runtime.threadpool import PoolSample

if TYPE_CHECKING:
    from loopsight.joins import FindingIndex

__all__ = ["BackgroundState", "PoolState", "SeriesPoint", "Snapshot"]

# Aggregates keyed by label tuples: [bucket counts..., +Inf count, sum] or [count, total].
Rows = dict[tuple[str, ...], list[float]]


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
class PoolState:
    """anyio's default thread limiter: the latest sample, recent samples, saturation episodes."""

    last: PoolSample | None = None
    samples: tuple[PoolSample, ...] = ()
    saturations: int = 0


@dataclass(frozen=True)
class BackgroundState:
    """Starlette background tasks: running now, runs by (task, outcome), durations by task."""

    running: int = 0
    outcomes: Rows = field(default_factory=dict)
    durations: Rows = field(default_factory=dict)
    failures: tuple[BackgroundFailure, ...] = ()


@dataclass(frozen=True)
class Snapshot:
    """The runtime of one process at one instant (times in Unix seconds)."""

    pid: int
    threshold: float  # seconds of heartbeat delay that count as a stall
    stall_count: int  # stalls detected so far (the log below keeps the latest ones)
    stalls: tuple[Stall, ...]  # oldest first
    stall_counts: Rows  # (route label, culprit key) -> [stalls, seconds]
    requests: Rows  # (route template, method, status) -> REQUEST_BUCKETS histogram row
    in_flight: int
    lag_counts: tuple[int, ...]  # heartbeats per LAG_BUCKETS bucket, +Inf last
    lag_sum: float
    series: tuple[SeriesPoint, ...]
    pool: PoolState
    background: BackgroundState
    recent_requests: tuple[RequestRecord, ...] = ()  # only when asked for: see snapshot()
    # (route template, method) -> [requests that started right after a stall, its seconds]
    queued: Rows = field(default_factory=dict)
    request_bounds: tuple[float, ...] = REQUEST_BUCKETS
    lag_bounds: tuple[float, ...] = LAG_BUCKETS
    findings: FindingIndex | None = None  # loopsight check's findings, once it has run
