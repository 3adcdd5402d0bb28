"""Meta-tests: every registered rule is produced by its example file, has a four-part doc page
under its own name, and a sane definition; nothing is documented or exemplified that is not
registered."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from loopsight.check import RULES, _files, run_check

from ._annotations import annotations, config_for

HERE = Path(__file__).parent
EXAMPLES = HERE / "examples"
DOCS = HERE.parents[1] / "docs" / "rules"
HEADINGS = ["## What it does", "## Why is this bad?", "## Example", "## Use instead"]


def _too_large(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_files, "MAX_FILE_BYTES", 1_000)
    (tmp_path / "huge.py").write_text("x = 1\n" * 500)


#: Inputs that cannot live in the repository (unreadable, huge, looping): made here instead.
GENERATED: dict[str, Callable[[Path, pytest.MonkeyPatch], None]] = {
    "LS003": lambda tmp, _: (tmp / "dangling.py").symlink_to(tmp / "missing.py"),
    "LS005": _too_large,
    "LS006": lambda tmp, _: (tmp / "self.py").symlink_to(tmp / "self.py"),
}


@pytest.mark.parametrize("code", sorted(set(RULES) - set(GENERATED)))
def test_example_file_produces_its_code(code: str) -> None:
    files = sorted(EXAMPLES.glob(f"{code}_*.py"))
    assert files, f"no examples/{code}_*.py"
    for file in files:
        annotated = {item.code for item in annotations([file], EXAMPLES)}
        assert code in annotated, f"{file.name} does not expect {code}"
        found = {f.code for f in run_check([str(file)], config_for(file), jobs=1).findings}
        assert code in found, f"{file.name} does not produce {code}"


@pytest.mark.parametrize("code", sorted(GENERATED))
def test_generated_input_produces_its_code(
    code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    GENERATED[code](tmp_path, monkeypatch)
    assert [f.code for f in run_check([str(tmp_path)], jobs=1).findings] == [code]


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
        assert {item.code for item in annotations([file], EXAMPLES)} <= set(RULES), file.name


@pytest.mark.parametrize("code", sorted(RULES))
def test_rule_definition(code: str) -> None:
    rule = RULES[code]
    assert re.fullmatch(r"LS[0-6]\d\d", code)
    assert re.fullmatch(r"[a-z0-9-]+", rule.name)
    assert rule.message
    assert rule.fix
    assert len({r.name for r in RULES.values()}) == len(RULES)
    message = rule.describe("subject", route="route", via="")
    assert "\n" not in message
    assert "{" not in message
    assert rule.finding("p.py", 3, 4, "subject", route="r", via="").column == 5


def test_pre_commit_hook_definition() -> None:
    text = (HERE.parents[1] / ".pre-commit-hooks.yaml").read_text()
    assert "- id: loopsight-check" in text
    assert "entry: loopsight check" in text
    assert "pass_filenames: false" in text  # call paths need the whole tree
