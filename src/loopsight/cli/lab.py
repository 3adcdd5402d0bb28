"""``loopsight lab``: reproduce the seeds' benchmark on a real uvicorn server.

The command reads as steps: parse → ``_prepare`` (check every input before a long run) →
``_measure`` (the run, with progress on stderr) → ``_report`` (table, files).
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, cast

import typer

from loopsight.cli._common import fail
from loopsight.errors import LoopsightError
from loopsight.lab.runner import DEFAULT_SCALE

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

    from loopsight.lab.results import LabRun
    from loopsight.lab.runner import LabHooks, LabOptions
    from loopsight.lab.scenarios import Scenario
    from loopsight.model import OpenMode

__all__ = ["lab"]

_DEFAULT_OUT = Path("loopsight-report")
_PIPE_WIDTH = 240  # a file or pipe with no COLUMNS: keep each row on one line


def lab(
    scale: float = typer.Option(
        DEFAULT_SCALE,
        "--scale",
        help="Multiply every sleep by this factor (1 = the seed's 3 s and 5 s).",
    ),
    scenario: list[str] = typer.Option(
        [],
        "--scenario",
        "-s",
        help="Scenario to run (repeatable; default: the seeds' groups hello, cases, tasks).",
    ),
    group: list[str] = typer.Option(
        [], "--group", "-g", help="Run every scenario of a group ('all' for every group)."
    ),
    open_mode: str = typer.Option(
        "ab", "--open", help="Connection opening: 'ab' (one probe first, like ab) or 'all'."
    ),
    n: int = typer.Option(200, "-n", help="Requests per scenario."),
    c: int = typer.Option(100, "-c", help="Concurrent connections."),
    out: Path = typer.Option(_DEFAULT_OUT, "--out", help="Directory for the report files."),
    json_file: Path | None = typer.Option(None, "--json", help="Also write the JSON report here."),
    calibrate: bool = typer.Option(
        True,
        "--calibrate/--no-calibrate",
        help="Measure the server's loop time per request on /async first; the model adds it.",
    ),
    db: str | None = typer.Option(
        None,
        "--db",
        help="Database for the db scenarios: postgresql://... (default: an embedded SQLite file).",
    ),
    cores: int | None = typer.Option(
        None,
        "--cores",
        help="Pin the lab server to this many cores (sched_setaffinity); the model uses as many.",
    ),
    guide: Path | None = typer.Option(
        None, "--guide", help="Also write the guide: one section per pattern, with its table."
    ),
    wide: bool = typer.Option(
        False, "--wide", help="One table with every column, however wide the terminal."
    ),
    list_only: bool = typer.Option(False, "--list", help="List the scenarios and exit."),
) -> None:
    """Reproduce the seeds' experiment: every scenario under load, beside the model and the seed."""
    console = _stdout_console()
    if list_only:
        _list_scenarios(console)
        return
    try:
        chosen, options = _prepare(
            scenario, group, scale, open_mode, n, c, calibrate, db, out, cores
        )
        result = _measure(chosen, options, out)
    except LoopsightError as exc:
        fail(str(exc))
    _report(result, console, out, json_file, guide, wide)
    if result.aborted:
        raise typer.Exit(1)


def _stdout_console() -> Console:
    from rich.console import Console

    console = Console()
    if not console.is_terminal and not os.environ.get("COLUMNS"):
        console = Console(width=_PIPE_WIDTH)
    return console


def _list_scenarios(console: Console) -> None:
    from loopsight.lab.scenarios import SCENARIOS

    for item in SCENARIOS:
        console.print(
            f"{item.name:<25} {item.group:<10} {item.pattern:<8} {item.route:<30} {item.summary}",
            highlight=False,
            soft_wrap=True,
        )


def _prepare(
    names: list[str],
    groups: list[str],
    scale: float,
    open_mode: str,
    n: int,
    c: int,
    calibrate: bool,
    db: str | None,
    out: Path,
    cores: int | None = None,
) -> tuple[list[Scenario], LabOptions]:
    """The scenarios and options, checked, and the report directory, created: every bad input
    fails here, before the run."""
    from loopsight.lab.runner import LabOptions
    from loopsight.lab.scenarios import select
    from loopsight.report.files import prepare_out_dir

    chosen = select(names, groups)
    options = LabOptions(scale, cast("OpenMode", open_mode), n, c, calibrate, db, cores)
    prepare_out_dir(out)
    return chosen, options


def _measure(chosen: list[Scenario], options: LabOptions, out: Path) -> LabRun:
    """Run the lab with a progress bar on a terminal and one line per scenario on stderr."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from loopsight.lab.runner import run_lab

    err = Console(stderr=True)
    progress = Progress(
        TextColumn("{task.description:<12}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )
    with progress:
        return run_lab(chosen, options, trace_dir=out, hooks=progress_hooks(progress, options.n))


def progress_hooks(progress: Progress, n: int) -> LabHooks:
    """Hooks that move ``progress``'s bar and print a line as each scenario ends; the line is
    never wrapped, so a log file keeps one line per scenario."""
    from loopsight.lab.runner import LabHooks
    from loopsight.report.console import scenario_line

    task = progress.add_task("", total=n)
    return LabHooks(
        on_start=lambda item: progress.reset(task, description=item.name, total=n),
        on_progress=lambda done: progress.update(task, completed=done),
        on_done=lambda run: progress.console.print(
            scenario_line(run), soft_wrap=True, highlight=False
        ),
    )


def _report(
    result: LabRun,
    console: Console,
    out: Path,
    json_file: Path | None,
    guide: Path | None,
    wide: bool,
) -> None:
    """The table on stdout, then the report files; say which were written."""
    from loopsight.report import render_console, write_reports

    render_console(result, console, wide=wide)
    command = "loopsight " + shlex.join(sys.argv[1:]) if sys.argv[1:] else "loopsight lab"
    try:
        written = write_reports(result, out, command, json_file)
    except LoopsightError as exc:
        fail(str(exc))
    if guide is not None:
        from loopsight.report.guide import render_guide

        try:
            guide.write_text(render_guide(result, command), encoding="utf-8")
        except OSError as exc:
            fail(f"cannot write guide {guide}: {exc.strerror}")
        written.append(guide)
    written += [out / run.trace for run in result.runs if run.trace]
    console.print("wrote " + ", ".join(str(path) for path in written), highlight=False)
