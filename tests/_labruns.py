"""Lab results built by hand, for renderer tests that need no server: every scenario, with
figures as wide as a real run's (four-digit totals, long names, long verdicts)."""

from __future__ import annotations

from dataclasses import replace

from loopsight.lab._joins import StallSummary, StaticFinding
from loopsight.lab.results import LabRun, ScenarioRun
from loopsight.lab.scenarios import SCENARIOS, Scenario
from loopsight.load import LoadConfig, LoadResult, RequestRecord
from loopsight.model import predict

SCALE = 0.03


def load_result(total_s: float, n: int = 200, c: int = 100, steps: int = 5) -> LoadResult:
    """``n`` requests completing in ``steps`` equal rounds over ``total_s`` seconds."""
    per_step = -(-n // steps)
    records = [
        RequestRecord(0.0, total_s * (i // per_step + 1) / steps, 200, 20, None) for i in range(n)
    ]
    config = LoadConfig(url="http://127.0.0.1:1/", n=n, c=c, open_mode="ab")
    return LoadResult(config, records, total_s)


def scenario_run(scenario: Scenario, ratio: float = 1.03, blocked: float = 0.0) -> ScenarioRun:
    """A complete run of ``scenario``, ``ratio`` times the model, ``blocked`` of it on the loop."""
    model = None
    if scenario.has_model and scenario.timed:
        phases, capacities = scenario.phases, scenario.capacities
        model = predict(
            phases,
            n=200,
            c=100,
            open_mode="ab",
            capacities=capacities,
            cores=2,
            after=scenario.after,
        )
    seed_total = model.total_s if model is not None else 1.0
    total = seed_total * ratio * (SCALE if scenario.timed else 1.0)
    findings = ()
    stalls = StallSummary()
    if scenario.pattern == "bad":
        findings = (
            StaticFinding("LS101", "src/loopsight/lab/routes/cases.py", 42, "blocking"),
            StaticFinding("LS101", "src/loopsight/lab/routes/cases.py", 43, "blocking"),
        )
        stalls = StallSummary(101, 1201 * SCALE, {"cases.py:21": 101})
    run = ScenarioRun(scenario, SCALE, load_result(total), None, model, findings=findings)
    return replace(run, blocked_s=blocked * total, window_s=total, stalls=stalls)


def lab_run(names: tuple[str, ...] = ()) -> LabRun:
    """Every scenario (or those named), the bad ones blocking the loop; one with a long
    verdict (never-awaited warnings)."""
    runs = []
    for scenario in SCENARIOS:
        if names and scenario.name not in names:
            continue
        run = scenario_run(scenario, blocked=0.99 if scenario.pattern == "bad" else 0.0)
        if scenario.name == "await-missing":
            run = replace(run, server_log=("RuntimeWarning: coroutine was never awaited",) * 200)
        runs.append(run)
    return LabRun(runs, SCALE, "ab", 200, 100, {"async": 0.00024, "sync": 0.00049})
