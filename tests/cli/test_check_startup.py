"""``loopsight check`` takes the argparse fast path: no typer, one-line usage errors, listed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from loopsight.cli import main
from loopsight.cli.check import build_parser


def _command(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "loopsight", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
    )


def test_import_does_not_load_typer() -> None:
    probe = "import sys, loopsight.cli; assert 'typer' not in sys.modules, 'typer imported'"
    subprocess.run([sys.executable, "-c", probe], check=True)


def test_check_runs_without_typer(tmp_path: Path) -> None:
    (tmp_path / "ok.py").write_text("async def f():\n    return 1\n")
    probe = (
        "import sys\nfrom loopsight.cli import main\ntry:\n    main(sys.argv[1:])\n"
        "except SystemExit as exc:\n    assert 'typer' not in sys.modules, 'typer imported'\n"
        "    raise\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, "check", "--no-cache", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith("All clear in 1 file (")


def test_exit_codes(tmp_path: Path) -> None:
    (tmp_path / "ok.py").write_text("async def f():\n    return 1\n")
    assert _command("check", "--no-cache", str(tmp_path)).returncode == 0
    (tmp_path / "bad.py").write_text("import time\n\n\nasync def f():\n    time.sleep(1)\n")
    assert _command("check", "--no-cache", str(tmp_path)).returncode == 1
    missing = _command("check", "--no-cache", str(tmp_path / "missing"))
    assert missing.returncode == 2
    assert missing.stderr == f"loopsight: error: no such file or directory: {tmp_path}/missing\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--output-format", "nope"], "--output-format 'nope' is not a format: use full | "),
        (["--bogus"], "unrecognized arguments: --bogus (see `loopsight check --help`)"),
        (["-j", "many"], "argument -j/--jobs: invalid int value: 'many' (see `loopsight check"),
        (["--output", "json"], "unrecognized arguments: --output"),  # no abbreviations
    ],
)
def test_usage_error_is_one_line(args: list[str], message: str) -> None:
    done = _command("check", *args)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith(f"loopsight: error: {message}")


def test_help_lists_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["check", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: loopsight check ")
    for option in (
        "--output-format",
        "--select",
        "--ignore",
        "--statistics",
        "--config",
        "--reach",
    ):
        assert option in out
    assert "--no-cache" in out
    assert "-j N, --jobs N" in out


def test_defaults() -> None:
    options = build_parser().parse_args([])
    assert vars(options) == {
        "paths": [],
        "output_format": "full",
        "select": None,
        "ignore": None,
        "exclude": None,
        "extend_exclude": None,
        "reach": None,
        "statistics": False,
        "config": None,
        "no_cache": False,
        "jobs": None,
        "fix": False,
        "diff": False,
        "unsafe_fixes": False,
    }


def test_top_level_help_still_lists_check() -> None:
    done = _command("--help")
    assert done.returncode == 0
    assert "check" in done.stdout
    assert "Find blocking calls on the event loop" in done.stdout


def test_typer_route_passes_arguments_through(capsys: pytest.CaptureFixture[str]) -> None:
    from loopsight.cli import _app

    with pytest.raises(SystemExit) as exit_info:
        _app.main(["check", "--output-format", "nope"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.startswith("loopsight: error: --output-format 'nope' ")


def test_app_stays_importable() -> None:
    from loopsight.cli import app

    assert app.info.name == "loopsight"
