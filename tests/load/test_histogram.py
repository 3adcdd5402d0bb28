"""The histogram behind long runs: its counts are HdrHistogram's, its error within 0.1 %."""

from __future__ import annotations

import numpy as np
import pytest

from loopsight.load import RELATIVE_ERROR, latency_of, percentile
from loopsight.load._histogram import LatencyHistogram


def _lognormal(count: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.lognormal(np.log(2e-3), 1.0, count)


def test_percentiles_within_the_stated_error_of_the_exact_ones() -> None:
    values = _lognormal(200_000, 1)
    histogram = LatencyHistogram()
    for chunk in np.array_split(values, 137):  # fed in chunks, as the driver does
        histogram.add(chunk)
    ordered = sorted(values.tolist())
    exact = latency_of(ordered)
    for p in (0.1, 1, 25, 50, 90, 99, 99.9, 99.99, 100):
        want = percentile(ordered, p)
        assert abs(histogram.percentile(p) - want) <= want * RELATIVE_ERROR + 1e-9, p
    figures = histogram.latency()
    assert (figures.min, figures.max, histogram.count) == (exact.min, exact.max, 200_000)
    assert figures.mean == pytest.approx(exact.mean, rel=1e-9)


def test_bulk_rounding_lands_in_the_buckets_record_value_would_use() -> None:
    values = np.concatenate([_lognormal(5_000, 2), np.array([0.0, 1e-9, 2047e-9, 2048e-9, 3600.0])])
    bulk = LatencyHistogram()
    bulk.add(values)
    one_by_one = LatencyHistogram()
    for ns in np.rint(values * 1e9).astype(np.int64).tolist():
        one_by_one._hist.record_value(ns)
    assert np.array_equal(
        np.ctypeslib.as_array(bulk._hist.counts), np.ctypeslib.as_array(one_by_one._hist.counts)
    )
    assert bulk._hist.get_total_count() == one_by_one._hist.get_total_count() == values.size


def test_nothing_added_is_all_zeros() -> None:
    histogram = LatencyHistogram()
    histogram.add(np.empty(0))
    assert histogram.latency() == latency_of([])
    assert histogram.percentile(99) == 0.0


def test_one_value_is_every_percentile() -> None:
    histogram = LatencyHistogram()
    histogram.add(np.array([0.0123]))
    assert {histogram.percentile(p) for p in (0, 50, 100)} == {0.0123}
