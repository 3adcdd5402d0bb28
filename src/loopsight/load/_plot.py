"""The run over time as a PNG (``--plot``): requests/s above, latency percentiles below."""

from __future__ import annotations

from typing import IO

from loopsight.load._result import LoadResult

__all__ = ["plot_timeline"]

_PERCENTILES = (("p50", "tab:blue"), ("p90", "tab:orange"), ("p99", "tab:red"), ("max", "0.6"))


def plot_timeline(result: LoadResult, out: IO[bytes]) -> None:
    """Draw ``result.timeline``: rps and p50/p90/p99/max per second, seconds with errors marked."""
    from matplotlib.figure import Figure  # no pyplot: no global figure state, no display
    from matplotlib.ticker import FuncFormatter

    seconds = result.timeline
    mids = [s.t + s.span_s / 2 for s in seconds]
    fig = Figure(figsize=(10, 6), dpi=100, layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(1, 1.4))
    top.plot(mids, [s.rps for s in seconds], color="tab:green", marker=".", label="answered/s")
    top.set_ylabel("requests/s")
    top.set_ylim(0, max([s.rps for s in seconds], default=0) * 1.15 or 1)
    for name, color in _PERCENTILES:
        values = [getattr(s, name) for s in seconds]
        ms = [float("nan") if v is None else v * 1000 for v in values]
        bottom.plot(mids, ms, color=color, marker=".", label=name)
    bottom.set_ylabel("latency (ms)")
    bottom.set_xlabel("seconds since the start")
    if any(s.max for s in seconds):
        bottom.set_yscale("log")  # a stall of seconds beside a p50 of a millisecond
        bottom.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        bottom.yaxis.set_minor_formatter(FuncFormatter(_two_and_five))
    for ax in (top, bottom):
        ax.grid(True, which="major", alpha=0.3)
    failed = [(s, sum(s.errors.values())) for s in seconds if s.errors]
    for second, count in failed:
        for ax in (top, bottom):
            ax.axvspan(second.t, second.t + second.span_s, color="tab:red", alpha=0.15, lw=0)
        where = (second.t + second.span_s / 2, 0)
        top.annotate(f"{count}", where, color="tab:red", fontsize=7, ha="center", va="bottom")
    if failed:
        kinds = sorted({kind for second, _ in failed for kind in second.errors})
        top.plot([], [], color="tab:red", alpha=0.3, lw=8, label="errors: " + ", ".join(kinds))
    top.legend(loc="upper right", fontsize=8)
    bottom.legend(loc="upper right", fontsize=8, ncols=4)
    summary = result.summary()
    config = result.config
    fig.suptitle(
        f"{config.method} {config.url}: {summary.requests} requests, {summary.rps:.0f} req/s, "
        f"c={config.c}" + (f", rate {config.rate:g}/s" if config.rate else ""),
        fontsize=10,
    )
    fig.savefig(out, format="png")


def _two_and_five(value: float, _: object) -> str:
    """Label the minor ticks 2 and 5 of each decade only: the others would overlap."""
    return f"{value:g}" if f"{value:.0e}"[0] in "25" else ""
