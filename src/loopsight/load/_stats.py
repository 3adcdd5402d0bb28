"""Exact latency statistics from the measured values: nearest-rank percentiles, no histogram."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Latency", "latency_of", "percentile"]


@dataclass(frozen=True)
class Latency:
    """Latency figures in seconds; percentiles are nearest-rank (see :func:`percentile`)."""

    min: float
    mean: float
    p50: float
    p90: float
    p99: float
    max: float


def percentile(ordered: Sequence[float], p: float) -> float:
    """The nearest-rank ``p``-th percentile of ``ordered`` (sorted ascending, not empty).

    The smallest value such that at least ``p`` % of the values are <= it:
    ``ordered[ceil(p / 100 * N) - 1]``, and the minimum for ``p == 0``. Always a measured value,
    never an interpolation, as ab and wrk report.
    """
    if not ordered:
        raise ValueError("percentile of an empty sequence")
    if not 0 <= p <= 100:
        raise ValueError(f"percentile must be within [0, 100], got {p}")
    # round() first so that 0.9 * 10 == 9.000000000000002 does not move up a rank
    rank = math.ceil(round(p / 100 * len(ordered), 9))
    return ordered[max(rank, 1) - 1]


def latency_of(values: Sequence[float]) -> Latency:
    """Min, mean, p50, p90, p99 and max of ``values`` (any order); all zeros when empty."""
    if not values:
        return Latency(0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    ordered = sorted(values)
    return Latency(
        min=ordered[0],
        mean=math.fsum(ordered) / len(ordered),
        p50=percentile(ordered, 50),
        p90=percentile(ordered, 90),
        p99=percentile(ordered, 99),
        max=ordered[-1],
    )
