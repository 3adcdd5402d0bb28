"""On the lab app, ``loopsight check`` reports exactly the routes that block the loop.

The truth comes from the lab's own scenario catalogue (``pattern`` bad/good/baseline and
``stalls``), not from this file; the checker only parses the lab, it never imports it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import loopsight
from loopsight.check import Finding, run_check
from loopsight.cli import main
from loopsight.lab.scenarios import CATALOGUE, Scenario

LAB = Path(loopsight.__file__).parent / "lab"
BLOCKING = ("LS1", "LS2", "LS4")


@pytest.fixture(scope="module")
def findings() -> list[Finding]:
    return run_check([str(LAB)], jobs=1).findings


def _path(finding: Finding) -> str | None:
    route = finding.context.route if finding.context else None
    return route.split(" ", 1)[1] if route else None


def _attributed(scenario: Scenario, findings: list[Finding]) -> list[Finding]:
    return [
        f
        for f in findings
        if _path(f) == scenario.route
        or (f.context is not None and f.context.function in scenario.functions)
    ]


@pytest.mark.parametrize("scenario", CATALOGUE, ids=[s.name for s in CATALOGUE])
def test_scenario(scenario: Scenario, findings: list[Finding]) -> None:
    mine = _attributed(scenario, findings)
    if scenario.pattern != "bad":
        assert not mine, "a good or baseline route must be clean"
    elif scenario.stalls:
        assert [f for f in mine if f.code.startswith(BLOCKING)], "a stalling route is reported"
    elif not mine:
        # a costly middleware on a mounted sub-app: mounts are dynamic, so the finding is the
        # middleware's own (LS5xx), with no route label
        assert [f for f in findings if f.code.startswith("LS5")]


def test_every_route_finding_is_on_a_bad_scenario(findings: list[Finding]) -> None:
    bad = {s.route for s in CATALOGUE if s.pattern == "bad"}
    routed = {_path(f) for f in findings if _path(f) is not None}
    assert routed
    assert routed <= bad


def test_case_2_carries_the_path_to_time_sleep(findings: list[Finding]) -> None:
    source = (LAB / "routes" / "cases.py").read_text().splitlines()
    case2 = [f for f in findings if _path(f) == "/case2"]
    assert len(case2) == 1  # the route calls the helper twice: one site, reported once
    for finding in case2:
        assert "time.sleep" in source[finding.line - 1]
        (entry,) = finding.entries
        assert source[(entry.line or 0) - 1].strip() == "sync_io_heavy()"
        assert [hop.function for hop in finding.call_path] == [
            "case2_async_route_blocking_io",
            "sync_io_heavy",
        ]
        assert "time.sleep" in source[finding.call_path[-1].line - 1]


def test_cli_json_on_the_lab(capsys: pytest.CaptureFixture[str], findings: list[Finding]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["check", "--no-cache", "--output-format", "json", str(LAB)])
    assert exit_info.value.code == 1
    data = json.loads(capsys.readouterr().out)
    assert [(item["code"], item["line"]) for item in data] == [(f.code, f.line) for f in findings]
