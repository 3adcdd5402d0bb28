"""Every lab scenario joined with `loopsight check` and the runtime watchdog, on a real server:
the bad ones are seen by both faces (or, when they do not block, by the checker and by what
they cost), the good ones by neither."""

from __future__ import annotations

import pytest

from loopsight.lab.results import ScenarioRun
from loopsight.lab.runner import LabOptions, run_lab
from loopsight.lab.scenarios import select

pytestmark = pytest.mark.slow

# Every group of seed 002 (the seed-000 cases have their own test); case 2 would add 12 s.
GROUPS = ["db", "external", "cpu", "bg", "middleware", "pool", "await"]


@pytest.fixture(scope="module")
def runs() -> dict[str, ScenarioRun]:
    # At 1/10 of the seed's time the watchdog's threshold is 50 ms: far below a bad route's
    # 100 ms holds, far above the GIL hand-offs and thread starts a busy machine adds.
    lab = run_lab(select(groups=GROUPS), LabOptions(scale=0.1, open_mode="all", n=20, c=10))
    assert lab.aborted is None
    return {run.scenario.name: run for run in lab.runs}


def test_every_scenario_ran_and_answered(runs: dict[str, ScenarioRun]) -> None:
    assert set(runs) == {s.name for s in select(groups=GROUPS)}
    for name, run in runs.items():
        summary = run.load.summary()
        assert summary.failed == 0, name
        assert set(summary.status) == {200}, (name, summary.status)


def test_bad_scenarios_are_seen(runs: dict[str, ScenarioRun]) -> None:
    for name, run in runs.items():
        if run.scenario.pattern != "bad":
            continue
        assert run.findings, f"{name}: loopsight check found nothing"
        if run.scenario.stalls:
            assert run.stalls is not None
            assert run.stalls.count >= 1, f"{name}: no runtime stall attributed"
            assert run.stalls.top_culprit is not None, name
            assert run.loop_blocked_share is not None
            assert run.loop_blocked_share > 0.5, name


def test_good_scenarios_are_clean(runs: dict[str, ScenarioRun]) -> None:
    for name, run in runs.items():
        if run.scenario.pattern != "good":
            continue
        assert not run.findings, (name, [f.location for f in run.findings])
        assert run.stalls is not None
        assert run.stalls.count == 0, (name, run.stalls)


def test_culprits_name_the_blocking_lines(runs: dict[str, ScenarioRun]) -> None:
    # The runtime blames the line the checker reports, or the helper line below it.
    assert runs["bg-async-blocking"].stalls is not None
    assert runs["bg-async-blocking"].stalls.top_culprit == "background.py:98"
    assert runs["cpu-inline"].stalls is not None
    assert (runs["cpu-inline"].stalls.top_culprit or "").startswith("_cpu.py:")


def test_non_blocking_mistakes_show_their_cost(runs: dict[str, ScenarioRun]) -> None:
    # A missing await: the client gets 200 at once and Python says why in the server log.
    missing = runs["await-missing"]
    warnings = [line for line in missing.server_log if "was never awaited" in line]
    assert len(warnings) >= missing.n
    assert not any("was never awaited" in line for line in runs["await-fixed"].server_log)
    # BaseHTTPMiddleware costs throughput on the same hello route.
    assert runs["mw-base"].load.total_s > runs["mw-asgi"].load.total_s
    assert runs["mw-base"].load.total_s > runs["mw-none"].load.total_s
