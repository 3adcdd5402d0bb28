"""``loopsight check`` on the command line: formats, exit codes, selection, noqa, config."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from loopsight.cli import main

BLOCKING = (
    "import time\n\n\ndef helper():\n    time.sleep(1)\n\n\nasync def route():\n    helper()\n"
)


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(["check", "--no-cache", *argv])
    out, err = capsys.readouterr()
    code = exit_info.value.code
    return (code if isinstance(code, int) else 0), out, err


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "app.py").write_text(BLOCKING)
    return tmp_path


def test_exit_codes(project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run([str(project)], capsys)[0] == 1
    clean = tmp_path / "clean"
    clean.mkdir()
    (clean / "ok.py").write_text("async def f():\n    return 1\n")
    assert _run([str(clean)], capsys)[0] == 0
    code, _, err = _run([str(tmp_path / "missing")], capsys)
    assert code == 2
    assert err.count("\n") == 1
    assert err.startswith("loopsight: error: ")
    assert _run(["--output-format", "xml", str(project)], capsys)[0] == 2


def test_concise_and_full(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = _run(["--output-format", "concise", str(project)], capsys)
    assert re.fullmatch(
        r".*app\.py:5:5: LS101 Blocking sleep `time\.sleep` in `helper`, reached from async "
        r"function `route` \[reached from 1 entry point: async_function route\]\n",
        out,
    )
    _, out, _ = _run([str(project)], capsys)
    assert "-> helper" in out
    assert "    reached from 1 entry point: async_function route\n" in out
    assert "fix: use `await asyncio.sleep(...)`" in out


def test_json_schema(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = _run(["--output-format", "json", str(project)], capsys)
    (item,) = json.loads(out)
    assert set(item) == {
        *("code", "message", "path", "line", "column"),
        *("context", "call_path", "fix", "entries", "severity", "category"),
    }
    assert (item["severity"], item["category"]) == ("blocking", "blocking")
    assert item["line"] == 5  # the blocking call itself
    assert item["context"]["kind"] == "async_function"
    assert item["entries"] == [item["context"]]
    assert {key: item["context"][key] for key in ("function", "route", "line")} == {
        "function": "route",
        "route": None,
        "line": 9,
    }
    assert [(hop["function"], hop["line"]) for hop in item["call_path"]] == [
        ("route", 9),
        ("helper", 5),
    ]


def test_sarif(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = _run(["--output-format", "sarif", str(project)], capsys)
    log = json.loads(out)
    assert log["version"] == "2.1.0"
    (result,) = log["runs"][0]["results"]
    assert result["ruleId"] == "LS101"
    assert result["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 5,
        "startColumn": 5,
    }
    (related,) = result["relatedLocations"]
    assert related["physicalLocation"]["region"] == {"startLine": 9}
    steps = result["codeFlows"][0]["threadFlows"][0]["locations"]
    assert [step["location"]["message"]["text"] for step in steps] == ["route", "helper"]
    assert "LS501" in {rule["id"] for rule in log["runs"][0]["tool"]["driver"]["rules"]}


def test_github(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = _run(["--output-format", "github", str(project)], capsys)
    assert re.fullmatch(
        r"::error file=.*app\.py,line=5,col=5,title=LS101::.*"
        r"reached from 1 entry point: async_function route\n",
        out,
    )


def test_statistics(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "b.py").write_text(
        "import time\n\n\nasync def f():\n    time.sleep(1)\n    open('x')\n"
    )
    _, out, _ = _run(["--statistics", str(project)], capsys)
    assert out.splitlines() == ["    2  LS101  blocking-sleep", "    1  LS105  blocking-file-io"]


@pytest.mark.parametrize(
    ("comment", "expected"),
    [("  # noqa: LS101", 0), ("  # noqa", 0), ("  # noqa: LS102", 1), ("  # NOQA:LS1O1", 1)],
)
def test_noqa(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], comment: str, expected: int
) -> None:
    (tmp_path / "app.py").write_text(BLOCKING.replace("    helper()\n", f"    helper(){comment}\n"))
    assert _run([str(tmp_path)], capsys)[0] == expected


def test_select_and_ignore(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["--select", "LS2", str(project)], capsys)[0] == 0
    assert _run(["--ignore", "LS101", str(project)], capsys)[0] == 0
    assert _run(["--select", "LS1", "--ignore", "LS10", str(project)], capsys)[0] == 0
    assert _run(["--select", "LS101", "--ignore", "LS1", str(project)], capsys)[0] == 1


def _config(root: Path, body: str) -> None:
    (root / "pyproject.toml").write_text("[tool.loopsight]\n" + body)


def test_pyproject_select_ignore_exclude(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _config(project, 'ignore = ["LS101"]\n')
    assert _run([str(project)], capsys)[0] == 0
    _config(project, 'exclude = ["app.py"]\n')
    assert _run([str(project)], capsys)[0] == 0
    _config(project, 'select = ["LS5"]\n')
    assert _run([str(project)], capsys)[0] == 0
    _config(project, "colour = 1\n")
    code, _, err = _run([str(project)], capsys)
    assert code == 2
    assert "unknown [tool.loopsight] key 'colour'" in err


def test_pyproject_extra_offload_and_routes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "app.py").write_text(
        "import time\nimport jobs\nimport web\n\n\n@web.expose('/x')\nasync def handler():\n"
        "    await jobs.defer(lambda: time.sleep(1))\n"
    )
    code, out, _ = _run(["--output-format", "json", str(tmp_path)], capsys)
    assert code == 1
    assert json.loads(out)[0]["context"]["kind"] == "async_function"
    _config(tmp_path, 'extra-route-decorators = ["web.expose"]\n')
    _, out, _ = _run(["--output-format", "json", str(tmp_path)], capsys)
    assert json.loads(out)[0]["context"]["kind"] == "route"
    _config(tmp_path, 'extra-offload-functions = ["jobs.defer"]\n')
    assert _run([str(tmp_path)], capsys)[0] == 0


def test_cli_import_is_light() -> None:
    probe = "import sys, loopsight.cli; print(sorted(m for m in sys.modules if 'check.' in m))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("line", ["    time.sleep(1)\n", "def helper():\n"])
def test_noqa_anywhere_on_the_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], line: str
) -> None:
    silenced = line.rstrip("\n") + "  # noqa: LS101\n"
    source = BLOCKING.replace(line, silenced) if line.startswith("    ") else BLOCKING
    source += "\n\ndef outer():\n    helper()  # noqa: LS101\n\n\nasync def other():\n    outer()\n"
    (tmp_path / "app.py").write_text(source)
    code, out, _ = _run(["--output-format", "json", str(tmp_path)], capsys)
    reported = [(item["line"], item["context"]["function"]) for item in json.loads(out)]
    if line.startswith("    "):  # on the blocking call: silenced for every path
        assert (code, reported) == (0, [])
    else:  # on an intermediate call: only the path through it is silenced
        assert reported == [(5, "route")]  # reported at the sleep, reached from `route` alone
        assert [entry["function"] for entry in json.loads(out)[0]["entries"]] == ["route"]


def test_test_and_script_trees_are_excluded_by_default(
    capsys: pytest.CaptureFixture[str],
) -> None:
    trees = Path(__file__).parent / "projects" / "trees"
    _, out, _ = _run(["--output-format", "concise", str(trees)], capsys)
    assert [Path(line.split(":")[0]).name for line in out.splitlines()] == ["main.py"]
    _, out, _ = _run(["--output-format", "concise", "--exclude", "conftest.py", str(trees)], capsys)
    assert len(out.splitlines()) == 6  # the defaults replaced: every tree but conftest.py
    argv = ["--output-format", "concise", "--extend-exclude", "app", str(trees)]
    assert _run(argv, capsys)[:2] == (0, "")


def test_pyproject_exclude_replaces_and_extend_exclude_adds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for folder in ("tests", "app"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "mod.py").write_text(BLOCKING)
    _config(tmp_path, 'extend-exclude = ["app"]\n')
    assert _run([str(tmp_path)], capsys)[0] == 0
    _config(tmp_path, 'exclude = ["app"]\n')
    _, out, _ = _run(["--output-format", "concise", str(tmp_path)], capsys)
    assert "tests/mod.py:5:5: LS101" in out


def test_reach_filters_on_how_a_finding_is_reached(capsys: pytest.CaptureFixture[str]) -> None:
    shop = str(Path(__file__).parent / "projects" / "shop")
    _, out, _ = _run(["--output-format", "json", shop], capsys)
    every = {item["context"]["kind"] for item in json.loads(out) if item["context"]}
    assert {"route", "dependency", "lifespan", "middleware"} <= every
    _, out, _ = _run(["--output-format", "json", "--reach", "route,dependency", shop], capsys)
    kept = json.loads(out)
    assert {item["context"]["kind"] for item in kept} == {"route", "dependency"}
    assert all(entry["kind"] in ("route", "dependency") for i in kept for entry in i["entries"])
    code, _, err = _run(["--reach", "routes", shop], capsys)
    assert code == 2
    assert "'routes' is not an entry-point kind: use route," in err


def test_pyproject_reach(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "app.py").write_text(BLOCKING)
    _config(tmp_path, 'reach = ["route"]\n')
    assert _run([str(tmp_path)], capsys)[0] == 0  # `route` is an async function, not a route
    _config(tmp_path, 'reach = ["async_function"]\n')
    assert _run([str(tmp_path)], capsys)[0] == 1


def test_an_empty_path_is_an_error(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for argv in ([""], [str(project), "  "]):
        code, out, err = _run(argv, capsys)
        assert code == 2, argv
        assert out == ""
        assert err.startswith("loopsight: error: an empty path was given")
        assert err.count("\n") == 1


def test_summary_follows_the_findings_on_one_pipe(project: Path) -> None:
    # Buffered as for a user: stdout on a pipe holds its text until exit unless flushed.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    done = subprocess.run(
        [sys.executable, "-m", "loopsight", "check", "--no-cache", str(project)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=60,
        env=env,
    )
    lines = done.stdout.splitlines()
    assert done.returncode == 1, done.stdout
    assert lines[-1].startswith("Found 1 finding in 1 file"), done.stdout
    assert sum("Found 1 finding" in line for line in lines) == 1
