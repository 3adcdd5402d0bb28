"""Lock-free, bounded aggregates written on the loop thread and read by exporters.

Each observation is a dict lookup, a ``bisect`` and two increments: no lock, no allocation
once a label set exists. Label sets are capped; past the cap they fold into ``<other>``.
Readers on other threads copy with ``list(...)``/``dict(...)``, atomic under the GIL.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from typing import Any

__all__ = [
    "LAG_BUCKETS",
    "REQUEST_BUCKETS",
    "CounterSet",
    "HistogramSet",
]

REQUEST_BUCKETS: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
LAG_BUCKETS: tuple[float, ...] = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
)  # fmt: skip

OTHER = "<other>"


def _fold(key: tuple[Any, ...]) -> tuple[Any, ...]:
    return (OTHER, *key[1:])


def _new_row(
    series: dict[Any, list[float]], key: tuple[Any, ...], max_series: int, width: int
) -> list[float]:
    """The row for a key not yet in ``series``: a new one, or the folded ``<other>`` row once
    ``series`` holds ``max_series`` keys."""
    if len(series) >= max_series:
        key = _fold(key)
        row = series.get(key)
        if row is not None:
            return row
    row = series[key] = [0.0] * width
    return row


class HistogramSet:
    """Histograms keyed by label tuples: ``series[key] = [bucket counts..., +Inf count, sum]``.

    Keys may hold any hashable values (the middleware uses route objects, resolved to
    templates at export time); folded keys start with ``"<other>"``.
    """

    def __init__(self, bounds: Sequence[float], max_series: int = 500) -> None:
        self.bounds = tuple(bounds)
        self.max_series = max_series
        self.series: dict[tuple[Any, ...], list[float]] = {}

    def observe(self, key: tuple[Any, ...], value: float) -> None:
        """Count ``value`` in the ``le`` bucket of ``key`` (the first bound >= value)."""
        row = self.series.get(key)
        if row is None:
            row = _new_row(self.series, key, self.max_series, len(self.bounds) + 2)
        row[bisect_left(self.bounds, value)] += 1
        row[-1] += value

    def observe_many(self, keys: Sequence[tuple[Any, ...]], values: Sequence[float]) -> None:
        """``observe(key, value)`` for each pair, with the per-pair work done in C."""
        # In order of appearance, as observe() would fold them past the cap.
        groups: dict[tuple[Any, ...], list[float]] = dict.fromkeys(keys)  # type: ignore[assignment]
        if len(groups) == 1:  # the usual batch: one route under load
            self.observe_group(keys[0], list(values))
            return
        for key, value in zip(keys, values, strict=True):
            group = groups[key]
            if group is None:
                groups[key] = [value]
            else:
                group.append(value)
        for key, group in groups.items():
            self.observe_group(key, group)

    def observe_group(self, key: tuple[Any, ...], values: list[float]) -> None:
        """``observe(key, value)`` for each of ``values`` (sorted in place): a bound's count
        is one ``bisect`` in them."""
        row = self.series.get(key) or _new_row(
            self.series, key, self.max_series, len(self.bounds) + 2
        )
        values.sort()
        below = 0
        for i, bound in enumerate(self.bounds):
            upto = bisect_right(values, bound)  # values <= bound: this bucket and lower
            row[i] += upto - below
            below = upto
        row[-2] += len(values) - below
        row[-1] += sum(values)

    def snapshot(self) -> dict[tuple[Any, ...], list[float]]:
        """A consistent-enough copy for exporters."""
        return {key: list(row) for key, row in list(self.series.items())}


class CounterSet:
    """Counters keyed by label tuples, each a ``[count, total]`` pair (e.g. stalls, seconds)."""

    def __init__(self, max_series: int = 500) -> None:
        self.max_series = max_series
        self.series: dict[tuple[str, ...], list[float]] = {}

    def add(self, key: tuple[str, ...], amount: float = 0.0) -> None:
        """Increment the count of ``key`` by one and its total by ``amount``."""
        row = self.series.get(key)
        if row is None:
            row = _new_row(self.series, key, self.max_series, 2)
        row[0] += 1
        row[1] += amount

    def snapshot(self) -> dict[tuple[str, ...], list[float]]:
        """A copy for exporters."""
        return {key: list(row) for key, row in list(self.series.items())}
