"""The lab table's cells as text, shared by the console, Markdown and guide renderers.

One ``Row`` per scenario holds every cell; each layout is a choice of columns from it: the full
table (Markdown, wide terminals), the summary that fits 80 columns, and its details.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from loopsight.lab.results import LabRun, ScenarioRun

__all__ = [
    "DETAIL_COLUMNS",
    "FULL_COLUMNS",
    "HEADERS",
    "SUMMARY_COLUMNS",
    "Column",
    "Row",
    "cells",
    "cost_note",
    "markdown_table",
    "row",
]


@dataclass(frozen=True)
class Row:
    """One scenario's cells, times in the seed's units (raw seconds for routes without I/O)."""

    scenario: str
    seed: str
    model: str
    measured: str
    seed_rps: str
    model_rps: str
    measured_rps: str
    ratio: str
    p50: str
    p99: str
    blocked: str
    check: str
    stalls: str
    verdict: str

    @property
    def totals(self) -> str:
        """``seed / model / measured`` total time."""
        return f"{self.seed} / {self.model} / {self.measured}"

    @property
    def rates(self) -> str:
        """``seed / model / measured`` requests per second."""
        return f"{self.seed_rps} / {self.model_rps} / {self.measured_rps}"


@dataclass(frozen=True)
class Column:
    """A column of a layout: its header, the ``Row`` attribute it shows, whether it is text
    (left-aligned, may wrap) or a figure (right-aligned, never wrapped)."""

    header: str
    attribute: str
    text: bool = False

    def cell(self, values: Row) -> str:
        """This column's cell in ``values``."""
        return str(getattr(values, self.attribute))


FULL_COLUMNS = (
    Column("scenario", "scenario", text=True),
    Column("total s: seed / model / measured", "totals"),
    Column("rps: seed / model / measured", "rates"),
    Column("measured/model", "ratio"),
    Column("p50 s", "p50"),
    Column("p99 s", "p99"),
    Column("loop blocked", "blocked"),
    Column("check", "check", text=True),
    Column("stalls", "stalls", text=True),
    Column("verdict", "verdict", text=True),
)
SUMMARY_COLUMNS = (
    Column("scenario", "scenario", text=True),
    Column("seed", "seed"),
    Column("model", "model"),
    Column("measured", "measured"),
    # the multiplication sign reads as "times the model"
    Column("×model", "ratio"),  # noqa: RUF001
    Column("loop\nblocked", "blocked"),
    Column("verdict", "verdict", text=True),
)
DETAIL_COLUMNS = (
    Column("scenario", "scenario", text=True),
    Column("p50 s", "p50"),
    Column("p99 s", "p99"),
    Column("check", "check", text=True),
    Column("stalls", "stalls", text=True),
)
HEADERS = tuple(column.header for column in FULL_COLUMNS)


def _num(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.0f}" if value >= 1000 else f"{value:.2f}"


def row(run: ScenarioRun) -> Row:
    """The scenario's cells."""
    seed = run.scenario.seed
    model = run.model if run.model is not None and run.model.total_s > 0 else None
    latency = run.load.summary().latency
    ratio = run.ratio
    share = run.loop_blocked_share
    return Row(
        scenario=run.scenario.name,
        seed=_num(None if seed is None else seed.total_s),
        model=_num(None if model is None else model.total_s),
        measured=_num(run.total_s),
        seed_rps=_num(None if seed is None else seed.rps),
        model_rps=_num(None if model is None else model.rps),
        measured_rps=_num(run.rps),
        ratio="—" if ratio is None else f"{ratio:.3f}",
        p50=_num(latency.p50 / run.unit),
        p99=_num(latency.p99 / run.unit),
        blocked="—" if share is None else f"{share:.0%}",
        check=_check(run),
        stalls=_stalls(run),
        verdict=run.verdict,
    )


def cells(run: ScenarioRun) -> tuple[str, ...]:
    """The full table's cells, in the order of ``HEADERS``."""
    values = row(run)
    return tuple(column.cell(values) for column in FULL_COLUMNS)


def _check(run: ScenarioRun) -> str:
    if not run.findings:
        return "clean"
    first = run.findings[0].location
    return first if len(run.findings) == 1 else f"{first} +{len(run.findings) - 1}"


def _stalls(run: ScenarioRun) -> str:
    stalls = run.stalls
    if stalls is None:
        return "—"
    if not stalls.count:
        return "none"
    culprit = stalls.top_culprit or "culprit not sampled"
    return f"{stalls.count} · {_num(stalls.total_s / run.unit)} s · {culprit}"


def cost_note(lab: LabRun) -> str:
    """Which per-request server time the model includes, and where it was measured."""
    costs = lab.request_cost_s
    parts = []
    if "async" in costs:
        parts.append(f"{costs['async'] * 1000:.2f} ms of loop time per request (on /async)")
    if "sync" in costs and "async" in costs:
        handoff = max(0.0, costs["sync"] - costs["async"]) * 1000
        parts.append(f"{handoff:.2f} ms more per hand-off to the thread pool (on /sync)")
    return (
        "each scenario's CPU per request, measured before its run at c=1 (on the loop, in "
        "threads, in child processes, in the load driver and the upstream, from /proc), shared "
        "over the cores the lab gets on this machine and the GIL (a cost lost in what the idle "
        "server spends is taken from hello's at c=1); on hello under the same load the server "
        "spent " + ", ".join(parts)
    )


def _markdown_row(values: tuple[str, ...]) -> str:
    return "| " + " | ".join(value.replace("|", "\\|") for value in values) + " |"


def markdown_table(runs: Sequence[ScenarioRun]) -> list[str]:
    """The full table in Markdown, one line per row, ``|`` in a cell escaped."""
    lines = [_markdown_row(HEADERS), _markdown_row(tuple("---" for _ in HEADERS))]
    return lines + [_markdown_row(cells(run)) for run in runs]
