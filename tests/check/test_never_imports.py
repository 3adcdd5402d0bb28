"""The checker parses; it never imports or runs the code it checks."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from loopsight.check import _runner, run_check

TRAP = """\
import os
import time

open({marker!r}, "w").write("imported")  # runs only if the module is executed
os._exit(3)


async def handler():
    time.sleep(1)
"""


@pytest.mark.parametrize("parallel", [False, True])
def test_module_code_never_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parallel: bool
) -> None:
    marker = tmp_path / "marker"
    package = tmp_path / "trap"
    package.mkdir()
    (package / "__init__.py").write_text(TRAP.format(marker=str(marker)))
    (package / "other.py").write_text("from trap import handler\n")
    if parallel:
        monkeypatch.setattr(_runner, "_PARALLEL_BYTES", 0)
    result = run_check([str(tmp_path)], jobs=2 if parallel else 1)
    assert [f.code for f in result.findings] == ["LS101"]
    assert not marker.exists()
    assert "trap" not in sys.modules
