"""The fixer parses only the regions of a file its fixes touch: the regions put back give the
file byte for byte, their facts sit on the file's lines, and fixing by regions writes what
fixing the whole file writes."""

from __future__ import annotations

import shutil
from pathlib import Path

import libcst as cst
import pytest

from loopsight.check import CheckConfig, run_check
from loopsight.check.fix import _regions as regions_module
from loopsight.check.fix import fix_findings
from loopsight.check.fix._facts import ModuleFacts, _Collector, collect
from loopsight.check.fix._regions import cut, join

FIXES = Path(__file__).parent / "fixes"

APP = b'''"""An app whose blocking calls sit in a class, in functions and after odd lines."""
# a comment before the imports
import time

from fastapi import FastAPI

app = FastAPI(); other = 1


def helper():
    time.sleep(1)


class Routes:
    """Routes on a class."""

    limit = 3

    @staticmethod
    async def first():
        time.sleep(1)  # blocks
        return 1

    # a comment between members
    async def second(self):
        return helper()

# a comment at the margin, inside the class's lines
    def third(self):
        return 3


@app.get("/a")
async def route_a():
    helper()
    x = [
  1,
    ]
    return x


@app.get("/b")
async def route_b():
    return helper()
'''


_Calls = dict[tuple[int, int], list[tuple[str, bool]]]
_Functions = set[tuple[str, int, int, bool, bool]]
EVERY_LINE = list(range(1, APP.count(b"\n") + 1))


def _calls(facts: ModuleFacts) -> _Calls:
    return {key: [(c.name, c.awaitable_here) for c in found] for key, found in facts.calls.items()}


def _functions(facts: ModuleFacts) -> _Functions:
    return {(f.name, f.start, f.end, f.is_async, f.awaits) for f in facts.functions}


@pytest.mark.parametrize("newline", [b"\n", b"\r\n"])
@pytest.mark.parametrize("wanted", [[], [21], [25, 26], [36], [14, 21], EVERY_LINE])
def test_regions_put_back_give_the_file(newline: bytes, wanted: list[int]) -> None:
    source = APP.replace(b"\n", newline)
    regions, tree = cut(source, wanted)
    assert tree is not None
    assert join(source, [(r, r.code(r.module)) for r in regions]) == source
    for line in wanted:
        assert any(r.first <= line < r.end for r in regions)


def test_a_wanted_member_is_parsed_without_the_rest_of_its_class() -> None:
    regions, _ = cut(APP, [21])
    member = [r for r in regions if r.prefix]
    assert [r.first for r in member] == [19]  # the decorator of ``first``
    assert b"limit" not in member[0].code(member[0].module)


def test_a_wanted_class_line_keeps_the_whole_class() -> None:
    regions, _ = cut(APP, [14])
    assert not any(r.prefix for r in regions)
    assert any(r.first <= 14 and r.end > 29 for r in regions)


@pytest.mark.parametrize("wanted", [[21], [25, 26], [36, 46], EVERY_LINE])
def test_facts_of_regions_sit_on_the_files_lines(wanted: list[int]) -> None:
    whole = ModuleFacts()
    cst.MetadataWrapper(cst.parse_module(APP)).visit(_Collector(whole))
    regions, tree = cut(APP, wanted)
    part = collect(regions, tree)
    assert (part.framework, part.imported) == (whole.framework, whole.imported)
    every = _calls(whole)
    assert {key: every[key] for key in _calls(part)} == _calls(part)
    assert _functions(part) <= _functions(whole)
    for line in wanted:
        assert {f for f in _functions(whole) if f[1] <= line <= f[2]} <= _functions(part)


def test_another_encoding_is_one_region() -> None:
    source = b"# -*- coding: latin-1 -*-\nimport time\n\n\nasync def f():\n    time.sleep(1)\n"
    regions, _ = cut(source, [6])
    assert [(r.first, r.end) for r in regions] == [(1, 7)]


def _fixed(root: Path) -> dict[str, bytes]:
    findings = run_check([str(root)], CheckConfig(), jobs=1).findings
    report = fix_findings(findings, [str(root)], CheckConfig(), unsafe=True)
    return {Path(f.path).name: f.after for f in report.files}


def test_fixing_by_regions_writes_what_fixing_whole_files_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "app.py").write_bytes(APP)
    for example in sorted(FIXES.iterdir()):
        shutil.copy(example / "before.py", tmp_path / f"{example.name}.py")
    by_regions = _fixed(tmp_path)
    monkeypatch.setattr(
        regions_module, "_spans", lambda source, lines, tree, wanted: [(1, len(lines) + 1, False)]
    )
    assert _fixed(tmp_path) == by_regions
    assert by_regions["app.py"] != APP
