"""The lab chart: what a reader of the articles wants to see in one picture.

Top: per scenario, the seed's, the model's and the measured total time, each with its figure
written on the bar, and beside it the share of the run the server's loop was blocked. Bottom:
for the seed's four cases, requests completed over time — the staircase that explains
36 / 1200 / 18 / 24 s (rounds of 40 thread tokens, one request at a time on a blocked loop,
everything at once when nothing blocks).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from loopsight.lab.results import BLOCKED_SHARE, LabRun, ScenarioRun

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["TIMELINE_CASES", "build_figure", "render_png"]

TIMELINE_CASES = ("case1", "case2", "case3", "case4")
_SERIES = (("seed", "#7f7f7f"), ("model", "#1f77b4"), ("measured", "#ff7f0e"))
_CASE_NOTES = {
    "case1": "def route, rounds of 40 thread tokens",
    "case2": "loop blocked, one request at a time",
    "case3": "await, every request at once",
    "case4": "threaded half in rounds of 40, then await",
}
_CASE_COLOURS = {"case1": "#1f77b4", "case2": "#d62728", "case3": "#2ca02c", "case4": "#9467bd"}


def render_png(lab: LabRun, path: Path) -> None:
    """Write the chart to ``path``."""
    import matplotlib.pyplot as plt

    figure = build_figure(lab)
    figure.savefig(path)
    plt.close(figure)


def build_figure(lab: LabRun) -> Figure:
    """The chart as a matplotlib figure: totals, loop blocked share and, when the seed's cases
    ran, their completion timeline."""
    import matplotlib

    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt

    timed = [run for run in lab.runs if run.scenario.timed]
    cases = [run for run in lab.runs if run.scenario.name in TIMELINE_CASES]
    rows = max(1, len(timed))
    height = 1.2 + 0.45 * rows + (3.4 if cases else 0.0)
    figure = plt.figure(figsize=(11.0, height), dpi=110, layout="constrained")
    ratios = [0.45 * rows + 0.8, 3.2] if cases else [1.0]
    grid = figure.add_gridspec(len(ratios), 2, height_ratios=ratios, width_ratios=[3.2, 1.0])
    _totals(figure.add_subplot(grid[0, 0]), timed)
    _blocked(figure.add_subplot(grid[0, 1]), timed)
    if cases:
        _timeline(figure.add_subplot(grid[1, 0]), cases, close_up=True)
        _timeline(figure.add_subplot(grid[1, 1]), cases, close_up=False)
    opening = "ab (one probe request first)" if lab.open_mode == "ab" else "all at once"
    figure.suptitle(
        f"loopsight lab: {lab.n} requests over {lab.c} connections, opened {opening}; "
        f"sleeps scaled by {lab.scale:g}, times in the seed's seconds",
        fontsize=10,
    )
    return figure


def _totals(ax: Axes, runs: Sequence[ScenarioRun]) -> None:
    """Horizontal bars per scenario: seed, model, measured total, each labelled."""
    height = 0.26
    for offset, (label, colour) in enumerate(_SERIES):
        values = [_total(run, label) for run in runs]
        ys = [i + (offset - 1) * height for i in range(len(runs))]
        bars = ax.barh(ys, [v or 0.0 for v in values], height, label=label, color=colour)
        texts = ["" if v is None else f"{v:.0f} s" if v >= 100 else f"{v:.1f} s" for v in values]
        ax.bar_label(bars, labels=texts, padding=2, fontsize=7)
    ax.set_yticks(range(len(runs)), [run.scenario.name for run in runs])
    ax.invert_yaxis()
    if runs:
        _log_seconds_axis(
            ax, [v for run in runs for name, _ in _SERIES if (v := _total(run, name))]
        )
    ax.set_xlabel("total time for all requests (s, seed's units, log scale)")
    ax.set_title("seed · model · measured", fontsize=9, loc="left")
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(axis="x", which="major", alpha=0.3)


def _log_seconds_axis(ax: Axes, values: Sequence[float]) -> None:
    """A log axis labelled in plain seconds at 1-2-5 steps, with room for the bar labels."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    low = min(values, default=1.0) / 2
    high = max(values, default=10.0) * 4
    ax.set_xscale("log")
    ax.set_xlim(low, high)
    steps = [m * 10.0**e for e in range(-3, 6) for m in (1, 2, 5) if low <= m * 10.0**e <= high]
    ax.xaxis.set_major_locator(FixedLocator(steps))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))


def _total(run: ScenarioRun, series: str) -> float | None:
    if series == "seed":
        return run.scenario.seed.total_s if run.scenario.seed else None
    if series == "model":
        return run.model.total_s if run.model and run.model.total_s > 0 else None
    return run.total_s


def _blocked(ax: Axes, runs: Sequence[ScenarioRun]) -> None:
    """The share of each run the server's loop was blocked, against the verdict's line."""
    shares = [run.loop_blocked_share for run in runs]
    colours = ["#d62728" if (s or 0.0) >= BLOCKED_SHARE else "#2ca02c" for s in shares]
    bars = ax.barh(range(len(runs)), [100 * (s or 0.0) for s in shares], 0.6, color=colours)
    labels = ["—" if s is None else f"{s:.0%}" for s in shares]
    ax.bar_label(bars, labels=labels, padding=2, fontsize=7)
    ax.axvline(100 * BLOCKED_SHARE, color="#555555", linestyle=":", linewidth=1)
    ax.set_yticks(range(len(runs)), ["" for _ in runs])
    ax.invert_yaxis()
    ax.set_xlim(0, 125)
    ax.set_xticks([0, 25, 50, 75, 100])
    ax.set_xlabel("loop blocked (% of the run)")
    ax.set_title("event loop blocked", fontsize=9, loc="left")


def _timeline(ax: Axes, runs: Sequence[ScenarioRun], *, close_up: bool) -> None:
    """Requests completed over time, one staircase per case; the seed's totals dotted."""
    horizon = 0.0
    for run in runs:
        name = run.scenario.name
        colour = _CASE_COLOURS.get(name, "#333333")
        ends = sorted(r.end / run.unit for r in run.load.records if r.error is None)
        label = f"{name}: {_CASE_NOTES[name]}" if name in _CASE_NOTES else name
        ax.step([0.0, *ends], range(len(ends) + 1), where="post", color=colour, label=label)
        if run.scenario.seed is not None:
            seed = run.scenario.seed.total_s
            ax.axvline(seed, color=colour, linestyle=":", linewidth=1)
            if close_up and seed <= 45:
                ax.annotate(f"seed {seed:.0f} s", (seed, 3), color=colour, fontsize=7,
                            rotation=90, ha="right", va="bottom")  # fmt: skip
            horizon = max(horizon, run.scenario.seed.total_s)
        horizon = max(horizon, ends[-1] if ends else 0.0)
    if close_up:
        fast = [r.total_s for r in runs if r.scenario.name != "case2"]
        ax.set_xlim(0, 1.15 * max(fast or [horizon]))
        ax.set_title(
            "requests completed over time (dotted: the seed's total)", fontsize=9, loc="left"
        )
        ax.legend(loc="upper left", fontsize=7)
    else:
        ax.set_xlim(0, 1.05 * horizon)
        ax.set_title("the same, to the end of case 2", fontsize=8, loc="left")
    ax.set_xlabel("time since the first request (s)" if close_up else "time (s)")
    ax.set_ylabel("requests completed" if close_up else "")
    ax.grid(alpha=0.3)
