"""Every annotated example file yields exactly the findings written on its lines: the codes,
and the columns and contexts its annotations pin (see ``_annotations``)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from loopsight.check import Finding, run_check

from ._annotations import annotations, config_for

EXAMPLES = Path(__file__).parent / "examples"
FILES = sorted(EXAMPLES.glob("*.py"))


def _where(finding: Finding) -> tuple[str, int, str]:
    return Path(finding.path).resolve().relative_to(EXAMPLES).as_posix(), finding.line, finding.code


@pytest.mark.parametrize("example", FILES, ids=[file.stem for file in FILES])
def test_example(example: Path) -> None:
    findings = run_check([str(example)], config_for(example), jobs=1).findings
    expected = annotations([example], EXAMPLES)
    assert expected, f"{example.name} has no expected finding"
    assert Counter(map(_where, findings)) == Counter(item[:3] for item in expected)
    by_place = {_where(finding): finding for finding in findings}
    for item in expected:
        found = by_place[item[:3]]
        if item.column is not None:
            assert found.column == item.column, item
        if item.context is not None:
            assert found.context is not None, item
            assert (found.context.kind, found.context.route) == item.context, item
