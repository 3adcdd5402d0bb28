"""One row of the lab table as text cells, shared by the console and Markdown renderers."""

from __future__ import annotations

from loopsight.lab.results import LabRun, ScenarioRun

__all__ = ["HEADERS", "cells", "cost_note"]

HEADERS = (
    "scenario",
    "total s: seed / model / measured",
    "rps: seed / model / measured",
    "measured/model",
    "p50 s",
    "p99 s",
    "loop blocked",
    "check",
    "stalls",
    "verdict",
)


def _num(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.0f}" if value >= 1000 else f"{value:.2f}"


def cells(run: ScenarioRun) -> tuple[str, ...]:
    """The row's cells: times in the seed's units (raw seconds for routes without I/O)."""
    seed = run.scenario.seed
    model = run.model if run.model is not None and run.model.total_s > 0 else None
    summary = run.load.summary()
    ratio = run.ratio
    totals = (
        None if seed is None else seed.total_s,
        None if model is None else model.total_s,
        run.total_s,
    )
    rates = (None if seed is None else seed.rps, None if model is None else model.rps, run.rps)
    return (
        run.scenario.name,
        " / ".join(_num(v) for v in totals),
        " / ".join(_num(v) for v in rates),
        "—" if ratio is None else f"{ratio:.3f}",
        _num(summary.latency.p50 / run.unit),
        _num(summary.latency.p99 / run.unit),
        "—" if run.loop_blocked_share is None else f"{run.loop_blocked_share:.0%}",
        _check(run),
        _stalls(run),
        run.verdict,
    )


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
    return "server costs measured under the same load: " + ", ".join(parts)
