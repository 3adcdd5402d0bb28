"""``loopsight lab``: reproduce the seeds' benchmark on a real uvicorn server."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import typer

from loopsight.cli._common import fail

__all__ = ["lab"]

_DEFAULT_OUT = Path("loopsight-report")


def lab(
    scale: float = typer.Option(
        0.03, "--scale", help="Multiply every sleep by this factor (1 = the seed's 3 s and 5 s)."
    ),
    scenario: list[str] = typer.Option(
        [], "--scenario", "-s", help="Scenario to run (repeatable; default: all)."
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
    guide: Path | None = typer.Option(
        None, "--guide", help="Also write the guide: one section per pattern, with its table."
    ),
    list_only: bool = typer.Option(False, "--list", help="List the scenarios and exit."),
) -> None:
    """Reproduce the seeds' experiment: every scenario under load, beside the model and the seed."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from loopsight.errors import LoopsightError
    from loopsight.lab.results import ScenarioRun
    from loopsight.lab.runner import database_kind, run_lab
    from loopsight.lab.scenarios import CATALOGUE, Scenario, select
    from loopsight.report import render_console, write_reports
    from loopsight.report.console import scenario_line
    from loopsight.report.files import prepare_out_dir

    console = Console()
    if not console.is_terminal:
        console = Console(width=240)  # a file or pipe: keep each row on one line
    if list_only:
        for item in CATALOGUE:
            console.print(
                f"{item.name:<25} {item.group:<10} {item.pattern:<8} {item.route:<30}"
                f" {item.summary}",
                highlight=False,
                soft_wrap=True,
            )
        return
    if open_mode not in ("all", "ab"):
        fail(f"--open {open_mode!r} is not a mode: use 'all' or 'ab'")
    try:
        chosen = select(scenario, group)
        database_kind(db)
        prepare_out_dir(out)
    except LoopsightError as exc:
        fail(str(exc))

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
    task = progress.add_task("", total=n)

    def on_start(item: Scenario) -> None:
        progress.reset(task, description=item.name, total=n)

    def on_progress(done: int) -> None:
        progress.update(task, completed=done)

    def on_done(run: ScenarioRun) -> None:
        progress.console.print(scenario_line(run))

    try:
        with progress:
            result = run_lab(
                chosen,
                scale=scale,
                open_mode="ab" if open_mode == "ab" else "all",
                n=n,
                c=c,
                calibrate=calibrate,
                database_url=db,
                trace_dir=out,
                on_start=on_start,
                on_progress=on_progress,
                on_done=on_done,
            )
    except LoopsightError as exc:
        fail(str(exc))
    render_console(result, console)
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
    console.print("wrote " + ", ".join(str(path) for path in written))
    if result.aborted:
        raise typer.Exit(1)
