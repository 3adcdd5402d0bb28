"""Bad input never stops the run: each bad file is one LS0xx line, every other file is checked."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from loopsight.check import Finding, _files, run_check

GOOD = "import time\n\n\nasync def handler():\n    time.sleep(1)\n"


def _by_file(findings: list[Finding]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for finding in findings:
        grouped.setdefault(Path(finding.path).name, []).append(finding.code)
    return grouped


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "good.py").write_text(GOOD)
    (tmp_path / "zz_good.py").write_text(GOOD)
    return tmp_path


def _check(path: Path) -> dict[str, list[str]]:
    return _by_file(run_check([str(path)], jobs=1).findings)


def test_syntax_error_is_ls001(tree: Path) -> None:
    (tree / "broken.py").write_text("def f(:\n")
    assert _check(tree) == {"broken.py": ["LS001"], "good.py": ["LS101"], "zz_good.py": ["LS101"]}


def test_non_utf8_is_ls002(tree: Path) -> None:
    (tree / "latin.py").write_bytes(b"x = 1\nname = 'caf\xe9'\n")
    findings = run_check([str(tree)], jobs=1).findings
    bad = [f for f in findings if f.path.endswith("latin.py")]
    assert [(f.code, f.line) for f in bad] == [("LS002", 2)]
    assert len(findings) == 3


def test_coding_cookie_is_honoured(tree: Path) -> None:
    (tree / "latin.py").write_bytes(b"# -*- coding: latin-1 -*-\nname = 'caf\xe9'\n")
    assert "latin.py" not in _check(tree)


def test_nul_byte_is_ls004(tree: Path) -> None:
    (tree / "nul.py").write_bytes(b"x = 1\n\x00\n")
    assert _check(tree)["nul.py"] == ["LS004"]


def test_huge_file_is_ls005(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_files, "MAX_FILE_BYTES", 1_000)
    (tree / "huge.py").write_text("x = 1\n" * 500)
    assert _check(tree) == {"huge.py": ["LS005"], "good.py": ["LS101"], "zz_good.py": ["LS101"]}


def test_broken_symlink_is_ls003(tree: Path) -> None:
    (tree / "dangling.py").symlink_to(tree / "missing.py")
    assert _check(tree)["dangling.py"] == ["LS003"]


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="root reads anything")
def test_unreadable_file_is_ls003(tree: Path) -> None:
    secret = tree / "secret.py"
    secret.write_text(GOOD)
    secret.chmod(0)
    try:
        assert _check(tree)["secret.py"] == ["LS003"]
    finally:
        secret.chmod(0o644)


def test_symlink_loops_are_ls006(tree: Path) -> None:
    (tree / "self.py").symlink_to(tree / "self.py")
    sub = tree / "pkg"
    sub.mkdir()
    (sub / "mod.py").write_text(GOOD)
    (sub / "back").symlink_to(tree, target_is_directory=True)
    grouped = _check(tree)
    assert grouped["self.py"] == ["LS006"]
    assert grouped["back"] == ["LS006"]
    assert grouped["mod.py"] == ["LS101"]
    assert grouped["good.py"] == ["LS101"]


def test_deep_nesting_does_not_crash(tree: Path) -> None:
    (tree / "deep.py").write_text("x = " + "(" * 5000 + "1" + ")" * 5000 + "\n")
    (tree / "long.py").write_text("x = " + " + ".join(["1"] * 50_000) + "\n")
    grouped = _check(tree)
    assert grouped["deep.py"] == ["LS001"]
    assert grouped["long.py"] == ["LS001"]
    assert grouped["good.py"] == ["LS101"]


def test_empty_and_whitespace_files_are_fine(tree: Path) -> None:
    (tree / "empty.py").write_bytes(b"")
    (tree / "bom.py").write_bytes(b"\xef\xbb\xbfimport time\nasync def f():\n    time.sleep(1)\n")
    grouped = _check(tree)
    assert "empty.py" not in grouped
    assert grouped["bom.py"] == ["LS101"]


def test_bad_file_given_directly(tmp_path: Path) -> None:
    bad = tmp_path / "one.py"
    bad.write_bytes(b"\xff\xfe\x00")
    findings = run_check([str(bad)], jobs=1).findings
    assert [f.code for f in findings] == ["LS004"]
    assert "\n" not in findings[0].message


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="3.12+ reads PEP 695 itself")
def test_newer_syntax_names_the_python_that_reads_it(tree: Path) -> None:
    (tree / "generic.py").write_text("class C[\n    T,\n]:\n    pass\n")
    findings = [f for f in run_check([str(tree)], jobs=1).findings if f.code == "LS001"]
    assert [(f.line, f.message.split(" (")[0]) for f in findings] == [
        (1, "needs Python >= 3.12 to read")
    ]
