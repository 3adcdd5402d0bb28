"""The per-second timeline: seconds in order, gaps kept, exact per-second percentiles."""

from __future__ import annotations

import numpy as np

from loopsight.load import Second, percentile
from loopsight.load._timeline import Timeline


def test_requests_land_in_the_second_they_ended() -> None:
    closed: list[Second] = []
    timeline = Timeline(closed.append)
    ends = np.array([0.1, 0.5, 0.9, 1.2, 3.5])
    latencies = np.array([0.01, 0.02, 0.03, 0.04, 0.05])
    answered = np.array([True, True, False, True, True])
    timeline.add(ends, latencies, answered, (None, None, "reset", None, None))
    assert [s.t for s in closed] == [0, 1, 2]  # second 3 is still in progress
    timeline.finish(3.75)
    seconds = timeline.seconds
    assert seconds == closed
    assert [(s.t, s.requests, s.answered) for s in seconds] == [
        (0, 3, 2),
        (1, 1, 1),
        (2, 0, 0),  # nothing finished: still a row, at 0 requests/s
        (3, 1, 1),
    ]
    assert seconds[0].errors == {"reset": 1}
    assert (seconds[0].p50, seconds[0].max) == (0.01, 0.02)
    assert (seconds[2].rps, seconds[2].p99) == (0.0, None)
    assert (seconds[3].span_s, seconds[3].rps) == (0.75, 1 / 0.75)
    assert seconds[3].to_json()["p99_s"] == 0.05


def test_a_second_spread_over_many_chunks_has_exact_percentiles() -> None:
    rng = np.random.default_rng(3)
    values = rng.random(1000)
    timeline = Timeline()
    for chunk in np.array_split(values, 7):
        timeline.add(np.full(chunk.size, 0.5), chunk, None, (None,) * chunk.size)
    timeline.advance(1)
    (second,) = timeline.seconds
    ordered = sorted(values.tolist())
    figures = (second.p50, second.p90, second.p99, second.max)
    assert figures == (*(percentile(ordered, p) for p in (50, 90, 99)), ordered[-1])
    assert second.requests == second.answered == 1000
