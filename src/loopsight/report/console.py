"""The lab table on the terminal (rich), laid out for the terminal's width.

Wide enough for every column on one line: the full table, as in ``lab.md``. Narrower (80
columns and up): a summary (seed, model, measured, ratio, loop blocked, verdict) and a
details table (latency, check, stalls). Figures never wrap and are never cut; text wraps.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

from loopsight.lab.results import LabRun, ScenarioRun
from loopsight.report._cells import (
    DETAIL_COLUMNS,
    FULL_COLUMNS,
    SUMMARY_COLUMNS,
    Column,
    cost_note,
    row,
)

__all__ = ["render_console", "scenario_line"]

_UNLIMITED = 10_000


def render_console(lab: LabRun, console: Console, *, wide: bool = False) -> None:
    """Print one row per scenario: seed, model, measured, ratio, loop blocked share, verdict;
    with ``wide``, every column in one table whatever the terminal's width."""
    title = (
        f"loopsight lab · n={lab.n} c={lab.c} open={lab.open_mode} scale={lab.scale:g}"
        " · seconds in the seed's units"
    )
    full = _table(lab, FULL_COLUMNS, title)
    # Measured with no width limit: the width at which no cell wraps.
    natural = Measurement.get(console, console.options.update_width(_UNLIMITED), full).maximum
    if natural <= console.width:
        console.print(full)
    elif wide:
        _print_at(console, full, natural)
    else:
        console.print(_table(lab, SUMMARY_COLUMNS, title))
        console.print()
        console.print(_table(lab, DETAIL_COLUMNS, "latency (s) and what loopsight saw"))
    if lab.request_cost_s:
        console.print(f"model includes {cost_note(lab)}", highlight=False)
    if lab.aborted:
        console.print(f"[yellow]run cut short: {lab.aborted}[/yellow]")


def _print_at(console: Console, table: Table, width: int) -> None:
    """Print ``table`` at ``width`` columns, wider than the terminal: lines run long, asked for."""
    narrow = console.width
    console.width = width
    try:
        console.print(table, crop=False)
    finally:
        console.width = narrow


def _table(lab: LabRun, columns: Sequence[Column], title: str) -> Table:
    table = Table(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
    )
    for column in columns:
        figures = not column.text
        table.add_column(
            column.header,
            justify="right" if figures else "left",
            no_wrap=figures or column.attribute == "scenario",
            overflow="fold",
        )
    for run in lab.runs:
        values = row(run)
        style = "red" if "blocks the loop" in values.verdict else None
        table.add_row(*(column.cell(values) for column in columns), style=style)
    return table


def scenario_line(run: ScenarioRun) -> str:
    """A one-line progress note printed as each scenario finishes."""
    model = "" if run.ratio is None else f", {run.ratio:.3f} x model"
    share = run.loop_blocked_share
    blocked = "" if share is None else f", loop blocked {share:.0%}"
    return (
        f"{run.scenario.name}: {run.total_s:.2f} s in seed units "
        f"({run.load.total_s:.2f} s measured){model}{blocked}"
    )
