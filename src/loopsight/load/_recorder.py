"""Fold a run's raw records, a chunk at a time, into what the result reports.

The driver appends one tuple per finished request and hands the list over about ten times a
second; the recorder counts statuses and errors, adds the latencies to a histogram and to the
timeline, streams the chunk to the records file if there is one, and keeps the tuples only
while the run is within ``exact_limit`` requests. Memory then stays flat however long the run.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np

from loopsight.load._config import LoadConfig
from loopsight.load._histogram import LatencyHistogram
from loopsight.load._result import LoadResult, RequestRecord, Summary, summarize
from loopsight.load._sink import RawRecord, RecordsFile
from loopsight.load._timeline import SecondCallback, Timeline

__all__ = ["Recorder"]

_CHUNK = 2048  # records worth folding in before the second is over: numpy's per-call cost is paid


class Recorder:
    """Counters, histogram, timeline and (small runs) records of one run started at ``t0``."""

    def __init__(
        self,
        t0: float,
        exact_limit: int,
        records: RecordsFile | None = None,
        on_second: SecondCallback | None = None,
    ) -> None:
        self.count = 0  # requests finished
        self.failure: str | None = None  # why the records file could not be written
        self._t0 = t0
        self._limit = exact_limit
        self._kept: list[RawRecord] | None = []  # None once past the limit
        self._file = records
        self._timeline = Timeline(on_second)
        self._histogram = LatencyHistogram()
        self._status: Counter[int] = Counter()
        self._errors: Counter[str] = Counter()
        self._first_start = math.inf
        self._last_end = -math.inf
        self._second = 0  # the second of the run at the last take

    def due(self, waiting: int, now: float) -> bool:
        """Whether ``waiting`` records are worth taking now: a chunk's worth, or a second ended."""
        return waiting >= _CHUNK or int(now - self._t0) > self._second

    def take(self, chunk: Sequence[RawRecord], now: float) -> None:
        """Fold in ``chunk`` (records in the order they finished); it is ``now``."""
        if chunk:
            self._fold(chunk)
        self._second = int(now - self._t0)
        self._timeline.advance(self._second)

    def _fold(self, chunk: Sequence[RawRecord]) -> None:
        self.count += len(chunk)
        if self._kept is not None:
            self._kept.extend(chunk)
            if len(self._kept) > self._limit:
                self._kept = None
        starts, ends, statuses, _, errors = zip(*chunk)  # noqa: B905 - all of length 5
        answered = None
        if errors.count(None) < len(chunk):
            answered = np.fromiter((e is None for e in errors), bool, len(chunk))
            self._status.update(s for s, e in zip(statuses, errors, strict=True) if e is None)
            self._errors.update(e for e in errors if e is not None)
        elif statuses.count(statuses[0]) == len(chunk):
            self._status[statuses[0]] += len(chunk)  # the usual chunk: one status throughout
        else:
            self._status.update(statuses)
        self._first_start = min(self._first_start, min(starts))
        self._last_end = max(self._last_end, max(ends))
        rel_ends = np.array(ends) - self._t0
        latencies = rel_ends - (np.array(starts) - self._t0)  # as RequestRecord.latency has it
        self._histogram.add(latencies if answered is None else latencies[answered])
        self._timeline.add(rel_ends, latencies, answered, errors)
        self._write(chunk)

    def _write(self, chunk: Sequence[RawRecord]) -> None:
        if self._file is None:
            return
        try:
            self._file.write(chunk, self._t0)
        except OSError as exc:
            self._fail(exc)

    def _fail(self, exc: OSError) -> None:
        assert self._file is not None
        self.failure = f"cannot write records to {self._file.path}: {exc.strerror or exc}"
        self._file.abandon()
        self._file = None

    def result(self, config: LoadConfig, aborted: str | None, now: float) -> LoadResult:
        """The run's result, with ``aborted`` as its reason to have stopped early; it is ``now``."""
        if self._file is not None:
            try:
                self._file.close()
            except OSError as exc:
                self._fail(exc)
        self._timeline.finish(now - self._t0)
        t0, total = self._t0, 0.0
        if self.count:
            total = (self._last_end - t0) - (self._first_start - t0)
        records: list[RequestRecord] = []
        if self._kept is not None:
            kept = self._kept
            records = [RequestRecord(s - t0, e - t0, st, nb, err) for s, e, st, nb, err in kept]
            records.sort(key=lambda r: r.start)
            summary = summarize(records, total)
        else:
            summary = self._summary(total)
        seconds = tuple(self._timeline.seconds)
        return LoadResult(config, records, total, aborted or self.failure, summary, seconds)

    def _summary(self, total: float) -> Summary:
        completed = self._histogram.count
        return Summary(
            total_s=total,
            rps=completed / total if total > 0 else 0.0,
            completed=completed,
            failed=self.count - completed,
            latency=self._histogram.latency(),
            status=dict(sorted(self._status.items())),
            errors=dict(sorted(self._errors.items())),
            exact=False,
        )
