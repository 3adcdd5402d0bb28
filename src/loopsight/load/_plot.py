"""The run over time as a PNG (``--plot``): requests/s above, latency percentiles below."""

from __future__ import annotations

from collections.abc import Sequence
from typing import IO, TYPE_CHECKING

from loopsight.load._result import LoadResult
from loopsight.load._timeline import Second

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_timeline"]

_PERCENTILES = (("p50", "tab:blue"), ("p90", "tab:orange"), ("p99", "tab:red"), ("max", "0.6"))


def plot_timeline(result: LoadResult, out: IO[bytes]) -> None:
    """Draw ``result.timeline``: rps and p50/p90/p99/max per second, seconds with errors marked."""
    from matplotlib.figure import Figure  # no pyplot: no global figure state, no display

    seconds = result.timeline
    fig = Figure(figsize=(10, 6), dpi=100, layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(1, 1.4))
    _draw_rate(top, seconds)
    _draw_latency(bottom, seconds)
    _mark_errors(top, bottom, seconds)
    end = seconds[-1].t + seconds[-1].span_s if seconds else 1.0
    top.set_xlim(0, max(end, 1.0))  # shared with the latency axis
    for ax in (top, bottom):
        ax.grid(True, which="major", alpha=0.3)
    top.legend(loc="upper right", fontsize=8)
    bottom.legend(loc="upper right", fontsize=8, ncols=4)
    summary, config = result.summary(), result.config
    fig.suptitle(
        f"{config.method} {config.url}: {summary.requests} requests, {summary.rps:.0f} req/s, "
        f"c={config.c}" + (f", rate {config.rate:g}/s" if config.rate else ""),
        fontsize=10,
    )
    fig.savefig(out, format="png")


def _draw_rate(ax: Axes, seconds: Sequence[Second]) -> None:
    # a last sliver of a second makes a rate of a handful of requests: leave it out of the line
    rated = [s for s in seconds if s.span_s >= 0.5 or len(seconds) == 1]
    mids = [s.t + s.span_s / 2 for s in rated]
    ax.plot(mids, [s.rps for s in rated], color="tab:green", marker=".", label="answered/s")
    ax.set_ylabel("requests/s")
    ax.set_ylim(0, max([s.rps for s in rated], default=0) * 1.15 or 1)


def _draw_latency(ax: Axes, seconds: Sequence[Second]) -> None:
    from matplotlib.ticker import FuncFormatter

    mids = [s.t + s.span_s / 2 for s in seconds]
    for name, color in _PERCENTILES:
        values = [getattr(s, name) for s in seconds]
        ms = [float("nan") if v is None else v * 1000 for v in values]
        ax.plot(mids, ms, color=color, marker=".", label=name)
    ax.set_ylabel("latency (ms)")
    ax.set_xlabel("seconds since the start")
    if not any(s.max for s in seconds):
        ax.set_ylim(0, 1)  # nothing answered: an empty axis, not one around zero
        return
    ax.set_yscale("log")  # a stall of seconds beside a p50 of a millisecond
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    low = min((s.p50 for s in seconds if s.p50), default=0.0)
    wide = low > 0 and max(s.max or 0.0 for s in seconds) / low > 10
    ax.yaxis.set_minor_formatter(FuncFormatter(_two_and_five if wide else _every))


def _mark_errors(top: Axes, bottom: Axes, seconds: Sequence[Second]) -> None:
    """Shade the seconds with errors on both axes, with their count, and name the kinds."""
    failed = [(s, sum(s.errors.values())) for s in seconds if s.errors]
    for second, count in failed:
        for ax in (top, bottom):
            ax.axvspan(second.t, second.t + second.span_s, color="tab:red", alpha=0.15, lw=0)
        where = (second.t + second.span_s / 2, 0)
        top.annotate(f"{count}", where, color="tab:red", fontsize=7, ha="center", va="bottom")
    if failed:
        kinds = sorted({kind for second, _ in failed for kind in second.errors})
        top.plot([], [], color="tab:red", alpha=0.3, lw=8, label="errors: " + ", ".join(kinds))


def _two_and_five(value: float, _: object) -> str:
    """Label the minor ticks 2 and 5 of each decade only: the others would overlap."""
    return f"{value:g}" if f"{value:.0e}"[0] in "25" else ""


def _every(value: float, _: object) -> str:
    """Label every minor tick: within one decade there are few."""
    return f"{value:g}"
