from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from loopsight import __version__
from loopsight.cli import main


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    out, err = capsys.readouterr()
    code = info.value.code
    return (code if isinstance(code, int) else 0), out, err


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["lab", "--scenario", "case9"], "unknown scenario 'case9'"),
        (["lab", "--group", "nope"], "unknown group 'nope'"),
        (["lab", "--open", "half"], "--open 'half' is not a mode"),
        (["lab", "-n", "10", "-c", "20", "-s", "case3"], "-c 20 is more than -n 10"),
        (["lab", "-n", "0", "-s", "case3"], "-n and -c must be positive"),
        (["lab", "--scale", "0", "-s", "case3"], "--scale must be a positive factor"),
        (["lab", "-n", "many"], "Invalid value for '-n'"),
        (["lab", "--bogus"], "No such option: --bogus"),
        (["lab", "--db", "mysql://x/y", "-s", "case3"], "--db 'mysql://x/y' is not a sqlite://"),
        (["lab", "--cores", "0", "-s", "case3"], "--cores 0: choose between 1 and"),
        (["lab", "--cores", "999", "-s", "case3"], "--cores 999: choose between 1 and"),
    ],
)
def test_bad_input_is_one_line(
    args: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(args, capsys)
    assert code == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("loopsight: error: ")
    assert needle in lines[0]


def test_list_names_every_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["lab", "--list"], capsys)
    assert code == 0
    for name in ("case1", "case2", "case3", "case4", "hello-sync", "sync-task"):
        assert name in out


@pytest.mark.slow
def test_lab_writes_json_markdown_png(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = tmp_path / "report"
    json_file = tmp_path / "lab.json"
    args = ["lab", "-s", "case3", "-s", "hello-async", "--scale", "0.02", "--open", "all"]
    args += ["-n", "20", "-c", "10", "--out", str(out_dir), "--json", str(json_file)]
    args += ["--no-calibrate"]  # the textbook model, so its figure is exact
    args += ["--guide", str(tmp_path / "guide.md")]
    code, out, _ = run_cli(args, capsys)
    assert code == 0
    assert "case3" in out
    assert "hello-async" in out
    data = json.loads(json_file.read_text())
    assert data == json.loads((out_dir / "lab.json").read_text())
    assert (data["scale"], data["open"], data["n"], data["c"]) == (0.02, "all", 20, 10)
    assert data["request_cost_ms"] == {}
    names = [entry["name"] for entry in data["scenarios"]]
    assert names == ["hello-async", "case3"]
    case3 = data["scenarios"][1]
    assert set(case3) >= {"name", "route", "seed", "model", "measured", "loop_blocked_share"}
    assert case3["route"] == "/case3"
    assert case3["seed"] == {"rps": 11.06, "total_s": 18.0}
    # 20 requests over 10 connections, 6 s each in seed units: two rounds, 12 s.
    assert case3["model"]["total_s"] == pytest.approx(12.0)
    assert set(case3["measured"]) >= {"rps", "total_s", "p50_s", "p99_s", "errors"}
    assert case3["measured"]["errors"] == 0
    assert 10.0 < case3["measured"]["total_s"] < 20.0
    markdown = (out_dir / "lab.md").read_text()
    assert re.search(r"\| case3 \| 18\.00 / 1\d\.\d\d / 1\d\.\d\d \|", markdown), markdown
    assert "`/case3`" in markdown
    assert "loopsight lab" in markdown
    assert (out_dir / "lab.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    guide = (tmp_path / "guide.md").read_text()
    assert "## Seed 000's four cases" in guide
    assert "## Hello" in guide
    assert "## Database access" not in guide  # no db scenario ran
    # case3 is marked for a trace: the Perfetto JSON of the run sits beside the report.
    assert case3["trace"] == "trace-case3.json"
    trace = json.loads((out_dir / "trace-case3.json").read_text())
    names = {event.get("name") for event in trace["traceEvents"]}
    assert "GET /case3" in names
    # Only case 3's window: not the hello-async run before it on the same server.
    assert "GET /async" not in names


def test_unwritable_out_dir_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    args = ["lab", "-s", "hello-async", "-n", "5", "-c", "1", "--out", str(blocker / "sub")]
    code, _, err = run_cli(args, capsys)
    assert code == 2
    assert err.count("\n") == 1
    assert "cannot create report directory" in err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["--version"], capsys)
    assert (code, out, err) == (0, f"loopsight {__version__}\n", "")


def test_scenario_help_names_the_real_default(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["lab", "--help"], capsys)
    assert code == 0
    flat = " ".join(out.replace("│", " ").split())
    assert "default: all" not in flat
    assert "default: the seeds' groups hello, cases, tasks" in flat


def test_progress_lines_are_never_wrapped() -> None:
    from rich.console import Console
    from rich.progress import Progress

    from _labruns import scenario_run
    from loopsight.cli.lab import progress_hooks
    from loopsight.lab.scenarios import SCENARIOS

    out = io.StringIO()
    err = Console(file=out, width=80, force_terminal=False)  # stderr written to a file
    progress = Progress(console=err, disable=True)
    hooks = progress_hooks(progress, 200)
    runs = [scenario_run(s, blocked=0.99) for s in SCENARIOS if s.has_model]
    for run in runs:
        hooks.on_done(run)
    lines = out.getvalue().splitlines()
    assert len(lines) == len(runs)
    assert max(len(line) for line in lines) > 80  # long enough that a wrap would show
    for line, run in zip(lines, runs, strict=True):
        assert line.startswith(run.scenario.name + ": ")
        assert line.endswith("loop blocked 99%")
