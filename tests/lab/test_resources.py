"""One real server per resource the model shares: the calibration finds each scenario's CPU
where it runs (the loop, threads under the GIL, a worker process, SQLite's threads behind the
connection pool), and ``--cores`` pins the server and tells the model."""

from __future__ import annotations

import os

import pytest

from loopsight.lab.results import ScenarioRun
from loopsight.lab.runner import LabOptions, run_lab
from loopsight.lab.scenarios import select

pytestmark = pytest.mark.slow

SCALE = 0.05  # one seed-second of work is 50 ms (of wall time when the lab sized it)
FLOOR = 0.002  # the work was sized under whatever load the machine had: at least 2 ms of CPU
NAMES = ["cpu-inline", "cpu-thread-executor", "cpu-process-pool", "db-async-session"]


@pytest.fixture(scope="module")
def runs() -> dict[str, ScenarioRun]:
    lab = run_lab(select(NAMES), LabOptions(scale=SCALE, open_mode="all", n=8, c=4))
    assert lab.aborted is None
    return {run.scenario.name: run for run in lab.runs}


def _costs(run: ScenarioRun) -> tuple[float, float, float]:
    assert run.costs is not None
    server = run.costs.server
    return server.loop_s, server.threads_s, server.children_s


def test_loop_work_is_found_on_the_loop(runs: dict[str, ScenarioRun]) -> None:
    loop, threads, children = _costs(runs["cpu-inline"])
    assert loop > FLOOR
    assert threads < loop / 5
    assert children < loop / 5


def test_gil_work_is_found_in_threads(runs: dict[str, ScenarioRun]) -> None:
    loop, threads, children = _costs(runs["cpu-thread-executor"])
    assert threads > FLOOR
    assert loop < threads / 5
    assert children < threads / 5


def test_process_pool_work_is_found_in_children(runs: dict[str, ScenarioRun]) -> None:
    loop, _threads, children = _costs(runs["cpu-process-pool"])
    assert children > FLOOR
    assert loop < children / 5


def test_sqlite_behind_the_pool_is_found_in_threads(runs: dict[str, ScenarioRun]) -> None:
    loop, threads, _ = _costs(runs["db-async-session"])
    assert threads > FLOOR
    assert loop < threads / 5


def test_every_resource_is_modelled(runs: dict[str, ScenarioRun]) -> None:
    for name, run in runs.items():
        assert run.model is not None, name
        assert run.model.cores == len(os.sched_getaffinity(0)), name
        assert run.model.core_busy_s > 0, name


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two cores to pin to one")
def test_cores_pins_the_server_and_the_model_knows() -> None:
    options = LabOptions(scale=SCALE, open_mode="all", n=4, c=2, cores=1)
    (run,) = run_lab(select(["cpu-process-pool"]), options).runs
    assert run.costs is not None
    assert run.costs.cores == 1
    assert run.model is not None
    assert run.model.cores == 1
