"""The summary cache: a re-check parses only edited files and still sees cross-module effects."""

from __future__ import annotations

from pathlib import Path

import pytest

from loopsight.check import _runner, run_check

HELPER = "import time\n\n\ndef helper():\n    time.sleep(1)\n"
ROUTE = "from pkg.helpers import helper\n\n\nasync def route():\n    helper()\n"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    package = tmp_path / "src" / "pkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "helpers.py").write_text(HELPER)
    (package / "routes.py").write_text(ROUTE)
    return tmp_path


def test_recheck_parses_only_the_edited_file(tree: Path) -> None:
    cache = tree / ".loopsight_cache"
    first = run_check([str(tree)], cache_dir=cache, jobs=1)
    assert (first.parsed, [f.code for f in first.findings]) == (3, ["LS101"])
    again = run_check([str(tree)], cache_dir=cache, jobs=1)
    assert again.parsed == 0
    assert again.findings == first.findings
    # the helper stops blocking: only it is re-parsed, and the route's finding goes away
    (tree / "src" / "pkg" / "helpers.py").write_text("def helper():\n    return 1\n")
    edited = run_check([str(tree)], cache_dir=cache, jobs=1)
    assert (edited.parsed, edited.findings) == (1, [])


def test_corrupt_cache_is_ignored(tree: Path) -> None:
    cache = tree / ".loopsight_cache"
    run_check([str(tree)], cache_dir=cache, jobs=1)
    written = sorted(cache.iterdir())
    assert written
    for file in written:
        file.write_bytes(b"not a pickle")
    result = run_check([str(tree)], cache_dir=cache, jobs=1)
    assert (result.parsed, [f.code for f in result.findings]) == (3, ["LS101"])
    assert run_check([str(tree)], cache_dir=cache, jobs=1).parsed == 0


def test_same_size_edit_is_seen(tree: Path) -> None:
    cache = tree / ".loopsight_cache"
    helpers = tree / "src" / "pkg" / "helpers.py"
    run_check([str(tree)], cache_dir=cache, jobs=1)
    helpers.write_text(HELPER.replace("time.sleep(1)", "print('x', 1)"))
    assert len(helpers.read_text()) == len(HELPER)
    result = run_check([str(tree)], cache_dir=cache, jobs=1)
    assert (result.parsed, result.findings) == (1, [])


def test_unwritable_cache_dir_still_checks(tree: Path) -> None:
    blocker = tree / "file-not-dir"
    blocker.write_text("")
    result = run_check([str(tree)], cache_dir=blocker / "cache", jobs=1)
    assert [f.code for f in result.findings] == ["LS101"]


def test_parallel_workers_match_serial(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    examples = Path(__file__).parent / "projects"
    serial = run_check([str(examples)], jobs=1)
    monkeypatch.setattr(_runner, "_PARALLEL_BYTES", 0)
    parallel = run_check([str(examples)], jobs=2)
    assert parallel.findings == serial.findings
    assert [f.call_path for f in parallel.findings] == [f.call_path for f in serial.findings]


def test_summary_round_trip_is_exact() -> None:
    import ast
    import marshal

    from loopsight.check._files import parse
    from loopsight.check._names import CanonicalNames
    from loopsight.check._summary import summary_from_tuple, summary_to_tuple
    from loopsight.check._visitor import summarise

    for file in sorted((Path(__file__).parent / "projects").rglob("*.py")):
        text = file.read_text()
        tree = parse(text, str(file))  # as the checker reads it (newer syntax included)
        assert isinstance(tree, ast.Module), file
        summary = summarise(tree, text, file.stem, str(file), False, CanonicalNames())
        copied = summary_from_tuple(marshal.loads(marshal.dumps(summary_to_tuple(summary))))
        assert copied == summary
