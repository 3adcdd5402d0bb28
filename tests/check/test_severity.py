"""Severity (``blocking`` / ``possible``) and category (``blocking`` / ``design``): selection
and how every output format shows them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loopsight.check import CheckConfig, run_check
from loopsight.check.renderers import RENDERERS

EXAMPLES = Path(__file__).parent / "examples"
METADATA = EXAMPLES / "LS120_metadata.py"
GUARDED = EXAMPLES / "LS122_guarded.py"
MIDDLEWARE = EXAMPLES / "LS501_base_http_middleware.py"


def _codes(path: Path, *select: str) -> set[str]:
    config = CheckConfig(select=select) if select else CheckConfig()
    return {finding.code for finding in run_check([str(path)], config, jobs=1).findings}


def test_possible_is_off_by_default() -> None:
    assert _codes(METADATA) == {"LS105"}
    assert _codes(GUARDED) == set()


@pytest.mark.parametrize(
    ("select", "expected"),
    [
        (("LS120",), {"LS120"}),
        (("LS", "possible"), {"LS105", "LS120"}),
        (("LS1",), {"LS105"}),  # a prefix does not turn the lower severity on
        (("possible",), {"LS120"}),
    ],
)
def test_selecting_the_lower_severity(select: tuple[str, ...], expected: set[str]) -> None:
    assert _codes(METADATA, *select) == expected


def test_ignore_wins_over_the_possible_word() -> None:
    config = CheckConfig(select=("LS", "possible"), ignore=("LS120",))
    found = {finding.code for finding in run_check([str(METADATA)], config, jobs=1).findings}
    assert found == {"LS105"}


def test_category_words_select_blocking_calls_alone() -> None:
    assert _codes(MIDDLEWARE) >= {"LS501"}
    assert "LS501" not in _codes(MIDDLEWARE, "blocking")
    assert _codes(MIDDLEWARE, "design") == {"LS501"}


def _rendered(output_format: str) -> str:
    config = CheckConfig(select=("LS", "possible"))
    return RENDERERS[output_format](run_check([str(METADATA)], config, jobs=1).findings)


def test_every_format_shows_the_severity() -> None:
    items = json.loads(_rendered("json"))
    assert {(i["code"], i["severity"], i["category"]) for i in items} == {
        ("LS105", "blocking", "blocking"),
        ("LS120", "possible", "blocking"),
    }
    results = json.loads(_rendered("sarif"))["runs"][0]["results"]
    assert {(r["ruleId"], r["level"]) for r in results} == {("LS105", "error"), ("LS120", "note")}
    assert "LS120 [possible] File metadata call" in _rendered("concise")
    assert "LS120 [possible] File metadata call" in _rendered("full")
    assert "::notice file=" in _rendered("github")
    assert "::error file=" in _rendered("github")


def test_design_is_shown_in_the_headline() -> None:
    findings = run_check([str(MIDDLEWARE)], CheckConfig(), jobs=1).findings
    assert "LS501 [design]" in RENDERERS["concise"](findings)
