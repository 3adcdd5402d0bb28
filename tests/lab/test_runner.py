"""The lab on a real uvicorn server: structure and ordering, never absolute speed."""

from __future__ import annotations

import pytest

from loopsight.lab.runner import LabOptions, run_lab
from loopsight.lab.scenarios import select

pytestmark = pytest.mark.slow


def test_cases_order_and_loop_blocking() -> None:
    # n=60 over c=60 at 1/50 of the seed's time: the model says 6 / 9 / 12 / 360 s
    # (case 3 / 4 / 1 / 2), i.e. 0.12 / 0.18 / 0.24 / 7.2 s here.
    cases = select(["case1", "case2", "case3", "case4"])
    lab = run_lab(cases, LabOptions(scale=0.02, open_mode="all", n=60, c=60))
    runs = {run.scenario.name: run for run in lab.runs}
    # Calibrated on /async and /sync: well under 10 ms a request.
    assert set(lab.request_cost_s) == {"async", "sync"}
    assert all(0.0 < cost < 0.01 for cost in lab.request_cost_s.values())
    assert list(runs) == ["case1", "case2", "case3", "case4"]
    for run in lab.runs:
        summary = run.load.summary()
        assert summary.status == {200: 60}, run.scenario.name
        assert summary.failed == 0
    totals = {name: run.load.total_s for name, run in runs.items()}
    assert totals["case3"] < totals["case4"] < totals["case1"] < totals["case2"], totals
    shares = {name: round(run.loop_blocked_share, 3) for name, run in runs.items()}
    # Only case 2 holds the loop, for nearly the whole run.
    assert runs["case2"].loop_blocked_share > 0.8, shares
    assert "blocks the loop" in runs["case2"].verdict
    for name in ("case1", "case3", "case4"):
        assert runs[name].loop_blocked_share < 0.3, (name, shares)
        assert "blocks the loop" not in runs[name].verdict
    # Measured in the seed's units sits near the model's prediction.
    for run in lab.runs:
        assert run.model is not None
        ratio = run.ratio
        assert ratio is not None
        assert 0.8 < ratio < 1.6, (run.scenario.name, ratio)


def test_untimed_scenarios_are_modelled_from_their_costs_in_raw_units() -> None:
    lab = run_lab(select(groups=["hello"]), LabOptions(scale=0.5, open_mode="ab", n=50, c=10))
    for run in lab.runs:
        # No sleep to scale: the model is the CPU a request cost at c=1, on the cores.
        assert run.model is not None
        assert run.ratio is not None
        assert run.costs is not None
        assert run.costs.server.loop_s > 0
        assert run.unit == 1.0
        assert run.total_s == pytest.approx(run.load.total_s)
        assert run.load.summary().status == {200: 50}
        assert "ms per request" in run.verdict
        entry = run.to_json()
        assert entry["model"] is not None
        assert entry["calibration"]["loop_cpu_ms"] > 0
        assert entry["seed"] is None


def test_without_calibration_untimed_scenarios_have_no_model() -> None:
    options = LabOptions(scale=0.5, open_mode="ab", n=50, c=10, calibrate=False)
    for run in run_lab(select(groups=["hello"]), options).runs:
        assert run.model is None
        assert run.ratio is None
        assert run.costs is None
