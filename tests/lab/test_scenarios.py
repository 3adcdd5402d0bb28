from __future__ import annotations

import pytest

from loopsight.errors import LoopsightError
from loopsight.lab.scenarios import DEFAULT_GROUPS, GROUPS, SCENARIOS, select
from loopsight.model import predict


def test_scenarios_name_the_seed_cases() -> None:
    names = [s.name for s in SCENARIOS]
    assert len(set(names)) == len(names)
    for name in ("case1", "case2", "case3", "case4", "hello-sync", "hello-async"):
        assert name in names
    assert {"sync-task", "async-task"} <= set(names)
    seeds = {s.name: (s.seed.rps, s.seed.total_s) for s in SCENARIOS if s.seed}
    assert seeds == {
        "case1": (5.53, 36.0),
        "case2": (0.17, 1200.0),
        "case3": (11.06, 18.0),
        "case4": (8.29, 24.0),
    }


def test_seed_figures_are_the_model_in_ab_mode() -> None:
    for scenario in SCENARIOS:
        if scenario.seed is not None:
            prediction = predict(scenario.phases, n=200, c=100, open_mode="ab")
            assert prediction.total_s == pytest.approx(scenario.seed.total_s), scenario.name


def test_routes_are_unique_and_exist_in_the_app() -> None:
    from loopsight.lab.app import app
    from loopsight.lab.routes.middleware import MOUNTS

    paths = set(app.openapi()["paths"])  # newer FastAPI nests included routers
    for prefix, sub_app in MOUNTS.items():
        paths |= {prefix + path for path in sub_app.openapi()["paths"]}
    for scenario in SCENARIOS:
        assert scenario.route in paths, scenario.name


def test_select_keeps_scenario_order() -> None:
    assert [s.name for s in select(["case3", "case1"])] == ["case1", "case3"]
    assert [s.name for s in select(groups=["hello"])] == ["hello-sync", "hello-async"]
    assert len(select(groups=["all"])) == len(SCENARIOS)


def test_default_selection_is_the_seeds_experiment() -> None:
    assert {s.group for s in select()} == set(DEFAULT_GROUPS)
    assert [s.name for s in select()][:6] == [
        "hello-sync",
        "hello-async",
        "case1",
        "case2",
        "case3",
        "case4",
    ]
    assert set(DEFAULT_GROUPS) < set(GROUPS)


def test_every_bad_scenario_names_its_fix_and_has_a_good_twin() -> None:
    for scenario in SCENARIOS:
        if scenario.pattern == "bad":
            assert scenario.fix, scenario.name
            twins = [s for s in SCENARIOS if s.group == scenario.group and s.pattern == "good"]
            assert twins, scenario.name
        if scenario.stalls:
            assert scenario.pattern == "bad", scenario.name


def test_unknown_scenario_is_a_one_line_error() -> None:
    with pytest.raises(LoopsightError, match=r"unknown scenario 'case9': choose from hello-sync"):
        select(["case9"])
    with pytest.raises(LoopsightError, match="unknown group 'nope'"):
        select(groups=["nope"])
