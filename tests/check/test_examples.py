"""Every annotated example file yields exactly the findings written on its lines."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from loopsight.check import run_check

from ._annotations import config_for, expected_columns, expected_findings

EXAMPLES = Path(__file__).parent / "examples"
FILES = sorted(EXAMPLES.glob("*.py"))


@pytest.mark.parametrize("example", FILES, ids=[file.stem for file in FILES])
def test_example(example: Path) -> None:
    result = run_check([str(example)], config_for(example), jobs=1)
    actual = Counter(
        (Path(finding.path).resolve().relative_to(EXAMPLES).as_posix(), finding.line, finding.code)
        for finding in result.findings
    )
    assert actual == expected_findings([example], EXAMPLES)
    columns = {
        (Path(f.path).resolve().relative_to(EXAMPLES).as_posix(), f.line, f.code): f.column
        for f in result.findings
    }
    for where, column in expected_columns([example], EXAMPLES).items():
        assert columns[where] == column, where


def test_examples_exist() -> None:
    assert len(FILES) >= 20


def test_route_labels_from_decorators() -> None:
    findings = run_check([str(EXAMPLES / "LS101_sleep.py")], jobs=1).findings
    labels = {f.line: (f.context.kind, f.context.route) for f in findings if f.context}
    assert labels[30] == ("route", "GET /case2")
    assert labels[58] == ("route", "GET,POST /both")
    assert labels[64] == ("websocket", "WS /ws")
    assert labels[53] == ("async_function", None)
