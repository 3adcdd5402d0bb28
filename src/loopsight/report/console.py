"""The lab table on the terminal (rich)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from loopsight.lab.results import LabRun, ScenarioRun
from loopsight.report._cells import HEADERS, cells, cost_note

__all__ = ["render_console", "scenario_line"]


def render_console(lab: LabRun, console: Console) -> None:
    """Print one row per scenario: seed, model, measured, ratio, loop blocked share, verdict."""
    table = Table(
        title=f"loopsight lab · n={lab.n} c={lab.c} open={lab.open_mode} scale={lab.scale:g}"
        " · times in the seed's units",
        title_justify="left",
    )
    for header in HEADERS:
        numeric = header not in ("scenario", "check", "stalls", "verdict")
        table.add_column(header, justify="right" if numeric else "left", no_wrap=not numeric)
    for run in lab.runs:
        style = "red" if "blocks the loop" in run.verdict else None
        table.add_row(*cells(run), style=style)
    console.print(table)
    if lab.request_cost_s:
        console.print(f"model includes {cost_note(lab)}")
    if lab.aborted:
        console.print(f"[yellow]run cut short: {lab.aborted}[/yellow]")


def scenario_line(run: ScenarioRun) -> str:
    """A one-line progress note printed as each scenario finishes."""
    model = "" if run.ratio is None else f", {run.ratio:.3f} x model"
    share = run.loop_blocked_share
    blocked = "" if share is None else f", loop blocked {share:.0%}"
    return (
        f"{run.scenario.name}: {run.total_s:.2f} s in seed units "
        f"({run.load.total_s:.2f} s measured){model}{blocked}"
    )
