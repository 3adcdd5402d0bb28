from __future__ import annotations

import math
import random

import pytest

from loopsight.load import Latency, latency_of, percentile


def test_nearest_rank_on_ten_values() -> None:
    values = [float(v) for v in range(1, 11)]  # 1..10
    # rank = ceil(p/100 * 10): p50 -> 5th, p90 -> 9th, p99 -> 10th, p10 -> 1st, p11 -> 2nd
    assert percentile(values, 50) == 5.0
    assert percentile(values, 90) == 9.0
    assert percentile(values, 99) == 10.0
    assert percentile(values, 10) == 1.0
    assert percentile(values, 11) == 2.0
    assert percentile(values, 0) == 1.0
    assert percentile(values, 100) == 10.0


def test_nearest_rank_small_and_uneven_counts() -> None:
    assert percentile([7.0], 0) == percentile([7.0], 50) == percentile([7.0], 100) == 7.0
    assert percentile([1.0, 2.0], 50) == 1.0  # ceil(1.0) = 1st
    assert percentile([1.0, 2.0], 51) == 2.0
    three = [1.0, 2.0, 3.0]
    assert [percentile(three, p) for p in (33, 34, 66, 67, 99)] == [1.0, 2.0, 2.0, 3.0, 3.0]


def test_percentile_is_always_a_member_and_matches_the_definition() -> None:
    rng = random.Random(7)
    for size in (1, 2, 3, 17, 100, 1001):
        ordered = sorted(rng.random() for _ in range(size))
        for p in (0.1, 1, 25, 50, 90, 99, 99.9):
            value = percentile(ordered, p)
            below = sum(1 for v in ordered if v <= value)
            # the smallest value with at least p % of the values at or below it
            assert below >= p / 100 * size
            assert sum(1 for v in ordered if v < value) < p / 100 * size


def test_percentile_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="empty"):
        percentile([], 50)
    with pytest.raises(ValueError, match="within"):
        percentile([1.0], 101)


def test_latency_of_unsorted_values() -> None:
    values = [0.3, 0.1, 0.4, 0.2, 0.5]
    assert latency_of(values) == Latency(
        min=0.1, mean=pytest.approx(0.3), p50=0.3, p90=0.5, p99=0.5, max=0.5
    )


def test_latency_of_nothing_is_zeros() -> None:
    lat = latency_of([])
    assert (lat.min, lat.mean, lat.p50, lat.p90, lat.p99, lat.max) == (0, 0, 0, 0, 0, 0)


def test_mean_is_exact_for_many_values() -> None:
    values = [0.1] * 10_000  # a naive sum() drifts to 0.10000000000001588
    assert math.fsum(values) != sum(values)
    assert latency_of(values).mean == 0.1
