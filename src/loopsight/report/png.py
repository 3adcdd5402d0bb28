"""The lab chart: total time per scenario, seed vs model vs measured (log scale)."""

from __future__ import annotations

from pathlib import Path

from loopsight.lab.results import LabRun

__all__ = ["render_png"]


def render_png(lab: LabRun, path: Path) -> None:
    """Write a grouped bar chart of total time (seed's units) to ``path``."""
    import matplotlib

    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt

    timed = [run for run in lab.runs if run.scenario.timed]
    names = [run.scenario.name for run in timed]
    series = {
        "seed": [run.scenario.seed.total_s if run.scenario.seed else 0.0 for run in timed],
        "model": [run.model.total_s if run.model else 0.0 for run in timed],
        "measured": [run.total_s for run in timed],
    }
    fig, ax = plt.subplots(figsize=(max(6.0, 1.3 * len(names) + 2), 4.5), dpi=110)
    width = 0.27
    for offset, (label, values) in enumerate(series.items()):
        xs = [i + (offset - 1) * width for i in range(len(names))]
        bars = ax.bar(xs, values, width, label=label)
        ax.bar_label(bars, labels=[f"{v:.0f}" if v else "" for v in values], fontsize=7)
    ax.set_xticks(range(len(names)), names)
    if any(v > 0 for values in series.values() for v in values):
        ax.set_yscale("log")
    ax.set_ylabel("total time for n requests (s, seed's units)")
    ax.set_title(f"n={lab.n} c={lab.c} open={lab.open_mode} scale={lab.scale:g}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
