"""Finished requests: queued by the middleware, folded into the aggregates in bulk.

The middleware's whole per-request API is plain data, so that a request costs no Python call
here: ``started += 1`` when it begins, ``route_id in routes`` (else :meth:`remember_route`) and
``finished.append((route id, method, status, start, seconds, queued))`` when it ends. Everything
else runs in bulk, each tick and before any read, from any thread.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from dataclasses import dataclass
from itertools import chain, repeat, starmap
from operator import add
from typing import Any

from loopsight.runtime._types import Scope
from loopsight.runtime.records import UNMATCHED
from loopsight.runtime.registry import route_template
from loopsight.runtime.stats import REQUEST_BUCKETS, CounterSet, HistogramSet

__all__ = ["RequestLog", "RequestRecord"]

_log = logging.getLogger("loopsight")
_MAX_UNFLUSHED = 1 << 16
# route id, method, status, start, seconds it took (its end less its start: the histograms'
# value, not worked out again for each request when folding), and seconds of the stall it
# queued behind (or 0.0)
_Finished = tuple[int, Any, int, float, float, float]
_WIDTH = 6  # fields of a _Finished


@dataclass(frozen=True)
class RequestRecord:
    """A finished request, as the trace export reads it (times in Unix seconds)."""

    start: float
    end: float
    method: str
    route: str
    status: int


class RequestLog:
    """Request counts and durations by (route template, method, status), bounded."""

    def __init__(self, *, max_series: int = 500, trace_requests: int = 4096) -> None:
        # Bounded: should nothing flush (a stopped watchdog), the oldest are dropped.
        self.finished: deque[_Finished] = deque(maxlen=_MAX_UNFLUSHED)
        self.started = 0  # requests the middleware began; in flight = started - flushed - queued
        self.flushed = 0
        self._flush_lock = threading.Lock()
        self.histograms = HistogramSet(REQUEST_BUCKETS, max_series=max_series)
        # (route id, method) -> [requests that queued behind a stall, seconds of those stalls]
        self.queued = CounterSet(max_series=max_series)
        # (start, end, method, route id, status): tuples, the cheapest thing to append.
        self.recent: deque[tuple[float, float, Any, int, int]] = deque(maxlen=trace_requests)
        # Off unless the trace export is wanted: then each request costs one more append.
        self.trace = False
        # id(route object) -> (route object, its label); the ids key the request aggregates,
        # the object is kept so that its id is not reused.
        self.routes: dict[int, tuple[object, str]] = {}

    def remember_route(self, route_id: int, route: object, scope: Scope) -> None:
        """Keep the route object behind an aggregate key (bounded like the label sets), with
        its label: the template behind the path of any mounts ``scope`` went through."""
        if len(self.routes) < self.histograms.max_series:
            self.routes[route_id] = (route, route_template(scope) or UNMATCHED)

    def _label(self, route_id: object) -> str:
        if isinstance(route_id, str):
            return route_id  # the overflow label "<other>"
        entry = self.routes.get(route_id) if isinstance(route_id, int) else None
        return entry[1] if entry is not None else UNMATCHED

    def flush(self) -> None:
        """Fold the queued finished requests into the aggregates, from any thread.

        In bulk, so that most of the per-request work runs in C (``zip``, ``map``, ``sort``,
        ``bisect``) rather than as a dozen lines of Python per request; and, for a batch of
        one route, method and status (one route under load), without an object per request
        that the garbage collector would have to visit.
        """
        with self._flush_lock:
            queue = self.finished
            count = len(queue)
            if not count:
                return
            # count pops: the middleware may append meanwhile.
            batch = list(starmap(queue.popleft, repeat((), count)))
            self.flushed += count
            try:
                self._aggregate(batch)
            except Exception:  # a bad record must not stop the metrics for good
                _log.debug("loopsight could not aggregate %d requests", count, exc_info=True)

    def _aggregate(self, batch: list[_Finished]) -> None:
        # Flattened, then sliced into columns: zip(*batch) or a map per column would make an
        # object or a call per request (and those objects, garbage collections).
        flat = list(chain.from_iterable(batch))
        if len(flat) != _WIDTH * len(batch):
            raise ValueError(
                "a queued request is not a (route, method, status, start, seconds, queued)"
            )
        route_ids, methods, statuses, starts, durations, queued = (
            flat[i::_WIDTH] for i in range(_WIDTH)
        )
        count = len(batch)
        key = (route_ids[0], methods[0], statuses[0])
        if (
            route_ids.count(key[0]) == count
            and methods.count(key[1]) == count
            and statuses.count(key[2]) == count
        ):
            self.histograms.observe_group(key, durations)
        else:
            keys = list(zip(route_ids, methods, statuses, strict=True))
            self.histograms.observe_many(keys, durations)
        if any(queued):  # rare: only right after a stall
            for route_id, method, seconds in zip(route_ids, methods, queued, strict=True):
                if seconds:
                    self.queued.add((route_id, method), seconds)
        if self.trace:
            ends = map(add, starts, durations)
            self.recent.extend(zip(starts, ends, methods, route_ids, statuses, strict=True))

    def in_flight(self) -> int:
        """HTTP requests being served (background phase included), from any thread."""
        return max(0, self.started - self.flushed - len(self.finished))

    def rows(self) -> dict[tuple[str, ...], list[float]]:
        """Histograms keyed by (route template, method, status), flushed first."""
        self.flush()
        rows: dict[tuple[str, ...], list[float]] = {}
        for (route, method, status), row in self.histograms.snapshot().items():
            key = (self._label(route), str(method or "GET"), str(status or "none"))
            acc = rows.get(key)
            if acc is None:
                rows[key] = row
            else:
                rows[key] = [a + b for a, b in zip(acc, row, strict=True)]
        return rows

    def queued_rows(self) -> dict[tuple[str, ...], list[float]]:
        """Requests that queued behind a stall, keyed by (route template, method):
        ``[count, seconds]``, flushed first."""
        self.flush()
        rows: dict[tuple[str, ...], list[float]] = {}
        for (route, method), row in self.queued.snapshot().items():
            key = (self._label(route), str(method or "GET"))
            acc = rows.setdefault(key, [0.0, 0.0])
            acc[0] += row[0]
            acc[1] += row[1]
        return rows

    def records(self, wall_offset: float) -> list[RequestRecord]:
        """The ring buffer of finished requests, labelled, in Unix time."""
        self.flush()
        return [
            RequestRecord(
                start + wall_offset, end + wall_offset, str(method or "GET"), self._label(route),
                int(status),
            )
            for start, end, method, route, status in list(self.recent)
        ]  # fmt: skip
