"""Latency statistics in constant memory: an HdrHistogram at 3 significant digits, fed in bulk.

The histogram counts nanoseconds from 1 ns to 24 h in about 300 kB whatever the run's length.
Values are added a chunk at a time: numpy computes each value's index in the histogram's counts
array (HdrHistogram's layout: 1024 sub-buckets per octave, values below 2048 ns exact) and adds
the chunk there at once, then tells the histogram its new totals. ``record_value`` costs ~3 us a
call in pure Python, as much as a whole request costs the driver; this costs ~10-20 ns a value.
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
#: Bound of ``|histogram percentile - exact percentile| / exact`` (plus 1 ns of rounding).
RELATIVE_ERROR = 10.0**-_DIGITS


class LatencyHistogram:
    """Count, min, mean, max (exact) and nearest-rank percentiles (within 0.1 %) of latencies."""

    def __init__(self) -> None:
        self._hist = HdrHistogram(1, _HIGHEST_NS, _DIGITS)
        self._counts = np.ctypeslib.as_array(self._hist.counts)  # shares the histogram's memory
        # values below 2 ** (half + 1) ns have an index each; above, 2 ** half per octave
        self._half: int = self._hist.sub_bucket_half_count_magnitude
        self.count = 0
        self.min = math.inf
        self.max = 0.0
        self._sum = 0.0
        self._lowest = -1  # lowest and highest index counted so far
        self._highest = -1

    def add(self, latencies: npt.NDArray[np.float64]) -> None:
        """Add latencies in seconds (any order)."""
        if not latencies.size:
            return
        self.count += int(latencies.size)
        self.min = min(self.min, float(latencies.min()))
        self.max = max(self.max, float(latencies.max()))
        self._sum += float(latencies.sum())
        whole = np.rint(np.clip(latencies, 0.0, _HIGHEST_NS / 1e9) * 1e9)
        _, exponent = np.frexp(whole)  # whole = m * 2**exponent, 0.5 <= m < 1
        ns = whole.astype(np.int64)
        bucket = np.maximum(exponent - 1 - self._half, 0)
        index = (bucket << self._half) + (ns >> bucket)  # HdrHistogram's counts index
        low, high = int(index.min()), int(index.max())
        # a chunk spans a few octaves: counting over that span beats np.add.at 10 times over
        self._counts[low : high + 1] += np.bincount(index - low).astype(np.uint64)
        self._lowest = low if self._lowest < 0 else min(self._lowest, low)
        self._highest = max(self._highest, high)
        self._hist.set_internal_tacking_values(self._lowest, self._highest, self.count)

    def percentile(self, p: float) -> float:
        """The nearest-rank ``p``-th percentile in seconds: the top of the bucket holding it."""
        if not self.count:
            return 0.0
        counts = self._counts
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
