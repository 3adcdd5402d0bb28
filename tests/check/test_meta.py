"""Meta-tests: every rule code has an example, a four-part doc page, and a sane definition."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from loopsight.check import RULES

from ._annotations import expected_findings

HERE = Path(__file__).parent
EXAMPLES = HERE / "examples"
DOCS = HERE.parents[1] / "docs" / "rules"
#: Inputs that cannot live in the repository (unreadable, huge, looping); test_bad_input makes them.
GENERATED = {"LS003", "LS005", "LS006"}
HEADINGS = ["## What it does", "## Why is this bad?", "## Example", "## Use instead"]


def _annotated_codes() -> set[str]:
    files = sorted(EXAMPLES.glob("*.py"))
    return {code for _, _, code in expected_findings(files, EXAMPLES)}


@pytest.mark.parametrize("code", sorted(RULES))
def test_code_has_an_example(code: str) -> None:
    if code in GENERATED:
        assert code in (HERE / "test_bad_input.py").read_text()
    else:
        assert code in _annotated_codes()
        assert list(EXAMPLES.glob(f"{code}_*.py")), f"no examples/{code}_*.py"


@pytest.mark.parametrize("code", sorted(RULES))
def test_code_has_a_four_part_doc(code: str) -> None:
    page = DOCS / f"{code}.md"
    text = page.read_text(encoding="utf-8")
    assert text.splitlines()[0] == f"# {code} ({RULES[code].name})"
    positions = [text.find(heading) for heading in HEADINGS]
    assert all(position > 0 for position in positions), positions
    assert positions == sorted(positions)
    assert text.count("```") >= 4  # an example and its replacement


def test_no_doc_or_example_for_unknown_codes() -> None:
    documented = {page.stem for page in DOCS.glob("*.md")}
    assert documented == set(RULES)
    for file in EXAMPLES.glob("*.py"):
        assert file.name[:5] in RULES, file.name


@pytest.mark.parametrize("code", sorted(RULES))
def test_rule_definition(code: str) -> None:
    rule = RULES[code]
    assert re.fullmatch(r"LS[0-6]\d\d", code)
    assert re.fullmatch(r"[a-z0-9-]+", rule.name)
    assert rule.message
    assert rule.fix
    assert len({r.name for r in RULES.values()}) == len(RULES)


def test_pre_commit_hook_definition() -> None:
    text = (HERE.parents[1] / ".pre-commit-hooks.yaml").read_text()
    assert "- id: loopsight-check" in text
    assert "entry: loopsight check" in text
    assert "pass_filenames: false" in text  # call paths need the whole tree
