"""Latency statistics in constant memory: an HdrHistogram at 3 significant digits, fed in bulk.

The histogram counts nanoseconds from 1 ns to 24 h in about 300 kB whatever the run's length.
Values are added in bulk: each is rounded down to the first value of its histogram bucket with
numpy, and once ``_BATCH`` of them are waiting every distinct bucket is recorded once with its
count. That fills the same buckets as recording the values one by one at a small part of the
cost (``record_value`` costs ~3 us a call in pure Python, as much as a whole request costs the
driver).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from hdrh.histogram import HdrHistogram  # type: ignore[import-untyped]

from loopsight.load._stats import Latency

__all__ = ["RELATIVE_ERROR", "LatencyHistogram"]

_DIGITS = 3
_HIGHEST_NS = 24 * 3600 * 10**9
_BATCH = 1 << 16  # values waiting before they go into the histogram: 512 kB at most
#: Bound of ``|histogram percentile - exact percentile| / exact`` (plus 1 ns of rounding).
RELATIVE_ERROR = 10.0**-_DIGITS


class LatencyHistogram:
    """Count, min, mean, max (exact) and nearest-rank percentiles (within 0.1 %) of latencies."""

    def __init__(self) -> None:
        self._hist = HdrHistogram(1, _HIGHEST_NS, _DIGITS)
        # values below 2 ** (magnitude + 1) ns are kept exactly; above, 2 ** magnitude per octave
        self._magnitude: int = self._hist.sub_bucket_half_count_magnitude
        self.count = 0
        self.min = math.inf
        self.max = 0.0
        self._sum = 0.0
        self._waiting: list[npt.NDArray[np.int64]] = []  # bucket firsts, not yet recorded
        self._waiting_count = 0

    def add(self, latencies: npt.NDArray[np.float64]) -> None:
        """Add latencies in seconds (any order)."""
        if not latencies.size:
            return
        self.count += int(latencies.size)
        self.min = min(self.min, float(latencies.min()))
        self.max = max(self.max, float(latencies.max()))
        self._sum += float(latencies.sum())
        ns = np.rint(np.clip(latencies, 0.0, _HIGHEST_NS / 1e9) * 1e9).astype(np.int64)
        _, exponent = np.frexp(ns.astype(np.float64))  # ns = m * 2**exponent, 0.5 <= m < 1
        shift = np.maximum(exponent - 1 - self._magnitude, 0)
        self._waiting.append((ns >> shift) << shift)
        self._waiting_count += int(ns.size)
        if self._waiting_count >= _BATCH:
            self._record()

    def _record(self) -> None:
        if not self._waiting:
            return
        firsts, counts = np.unique(np.concatenate(self._waiting), return_counts=True)
        self._waiting.clear()
        self._waiting_count = 0
        record = self._hist.record_value
        for value, count in zip(firsts.tolist(), counts.tolist(), strict=True):
            record(value, count)

    def percentile(self, p: float) -> float:
        """The nearest-rank ``p``-th percentile in seconds: the top of the bucket holding it."""
        if not self.count:
            return 0.0
        self._record()
        counts = np.ctypeslib.as_array(self._hist.counts)
        rank = max(1, math.ceil(round(p / 100 * self.count, 9)))
        index = int(np.searchsorted(np.cumsum(counts), rank))
        top: int = self._hist.get_highest_equivalent_value(self._hist.get_value_from_index(index))
        return min(max(top / 1e9, self.min), self.max)

    def latency(self) -> Latency:
        """The figures :func:`latency_of` gives for exact values; all zeros when empty."""
        if not self.count:
            return Latency(0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
        return Latency(
            min=self.min,
            mean=self._sum / self.count,
            p50=self.percentile(50),
            p90=self.percentile(90),
            p99=self.percentile(99),
            max=self.max,
        )
