"""The lab's results: one record per scenario run and one per lab run, with their JSON form."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from loopsight.lab._calibrate import Costs, CpuUse
from loopsight.lab._joins import StallSummary, StaticFinding
from loopsight.lab.scenarios import Scenario
from loopsight.load import LoadResult
from loopsight.model import OpenMode, Prediction

__all__ = ["BLOCKED_SHARE", "MARGIN", "MODEL_TOLERANCE", "LabRun", "ScenarioRun"]

MODEL_TOLERANCE = 0.10  # within 10 % of the model reads "as modelled"
BLOCKED_SHARE = 0.5  # past half the run with the loop blocked reads "blocks the loop"
MARGIN = 0.05
"""How far past a threshold a figure must be before the verdict says so: run-to-run noise moves
a ratio by a few percent, and a verdict should not flip on it. Inside the margin the verdict
says "close to" and gives the figure."""


@dataclass(frozen=True)
class ScenarioRun:
    """One scenario's measurement, with the model's prediction in the seed's units."""

    scenario: Scenario
    scale: float
    load: LoadResult
    blocked_s: float | None  # None when the run was cut short before the server could say
    model: Prediction | None
    n: int = 200
    c: int = 100
    request_cost_s: float = 0.0
    server_log: tuple[str, ...] = ()  # what the server logged during the run (warnings, errors)
    findings: tuple[StaticFinding, ...] = ()  # loopsight check on the route's code
    stalls: StallSummary | None = None  # runtime stalls attributed to the route (None: not watched)
    trace: str | None = None  # the Perfetto trace saved after this run
    window_s: float | None = None  # load plus the background work it left (None: the load)
    costs: Costs | None = None  # one request's costs at c=1, measured before the run
    cpu_under_load: CpuUse | None = None  # what the processes used during the load

    @property
    def unit(self) -> float:
        """Factor from seed seconds to measured seconds (1 for routes with no scaled sleep)."""
        return self.scale if self.scenario.timed else 1.0

    @property
    def total_s(self) -> float:
        """Measured total time, in the seed's units."""
        return self.load.total_s / self.unit

    @property
    def rps(self) -> float:
        """Measured requests per second, in the seed's units."""
        return self.load.summary().rps * self.unit

    @property
    def ratio(self) -> float | None:
        """Measured total time over the model's, when the model predicts a time and the run
        was complete."""
        if self.model is None or self.model.total_s <= 0 or self.load.aborted:
            return None
        return self.total_s / self.model.total_s

    @property
    def loop_blocked_share(self) -> float | None:
        """Share of the run during which the server's loop was blocked (None if unknown)."""
        total = self.window_s if self.window_s is not None else self.load.total_s
        if self.blocked_s is None:
            return None
        return min(1.0, self.blocked_s / total) if total > 0 else 0.0

    @property
    def verdict(self) -> str:
        """A few words a reader can act on."""
        summary = self.load.summary()
        words = []
        # With no I/O and no background work, a busy loop is serving, not blocked: say what
        # a request costs instead.
        if self.scenario.timed or self.scenario.settle is not None:
            share = self.loop_blocked_share
            if share is not None:
                words.append(_blocking_words(share, self._starved))
        else:
            if self.scenario.pattern == "baseline":
                words.append("baseline (no I/O)")
            if summary.completed and not self.load.aborted:
                words.append(f"{1000 * self.load.total_s / summary.completed:.2f} ms per request")
        never_awaited = sum("was never awaited" in line for line in self.server_log)
        if never_awaited:
            words.append(f"{never_awaited} 'never awaited' warnings logged")
        if self.load.aborted:
            words.append("cut short")
        elif summary.failed:
            words.append(f"{summary.failed} failed")
        ratio = self.ratio
        if ratio is None:
            if self.scenario.timed and not self.load.aborted:
                words.append("no model")
        else:
            words.append(_model_words(ratio))
        return ", ".join(words) or "—"

    @property
    def _starved(self) -> bool:
        """The loop was held by starvation, not by the route: the route's code does not hold
        the loop by design, and its stalls were mostly the loop waiting for a core."""
        if self.scenario.holds_loop:
            return False
        return self.stalls is None or self.stalls.count == 0 or self.stalls.mostly_starved

    def to_json(self) -> dict[str, Any]:
        """The scenario's entry in the lab's JSON report (times in the seed's units)."""
        summary = self.load.summary()
        seed = self.scenario.seed
        return {
            "name": self.scenario.name,
            "route": self.scenario.route,
            "group": self.scenario.group,
            "pattern": self.scenario.pattern,
            "n": self.n,
            "c": self.c,
            "seed": None if seed is None else {"rps": seed.rps, "total_s": seed.total_s},
            "model": None
            if self.model is None or self.model.total_s <= 0
            else {
                "rps": self.model.rps,
                "total_s": self.model.total_s,
                "loop_blocked_share": self.model.loop_blocked_share,
                "request_cost_ms": self.request_cost_s * 1000,
            },
            "measured": {
                "rps": self.rps,
                "total_s": self.total_s,
                "p50_s": summary.latency.p50 / self.unit,
                "p99_s": summary.latency.p99 / self.unit,
                "errors": summary.failed,
                "status": {str(code): count for code, count in sorted(summary.status.items())},
                "raw_total_s": self.load.total_s,
            },
            "calibration": None if self.costs is None else self.costs.to_json(),
            "cpu_under_load": None
            if self.cpu_under_load is None
            else self.cpu_under_load.to_json(self.n),
            "ratio": self.ratio,
            "loop_blocked_share": self.loop_blocked_share,
            "verdict": self.verdict,
            "check": [finding.to_json() for finding in self.findings],
            "stalls": None if self.stalls is None else self.stalls.to_json(),
            "trace": self.trace,
            "server_log": list(self.server_log),
        }


@dataclass(frozen=True)
class LabRun:
    """A whole lab run: its settings and one entry per scenario, in order.

    ``request_cost_s`` is the server's measured time per request (real seconds) on the hello
    routes, by how a route is dispatched: ``"async"`` on the loop, ``"sync"`` through the
    thread pool. The model adds it to every request; empty when calibration was off.
    """

    runs: Sequence[ScenarioRun]
    scale: float
    open_mode: OpenMode
    n: int
    c: int
    request_cost_s: Mapping[str, float] = field(default_factory=dict)
    aborted: str | None = None
    database: str = "sqlite"

    def to_json(self) -> dict[str, Any]:
        """The lab's JSON report."""
        return {
            "scenarios": [run.to_json() for run in self.runs],
            "scale": self.scale,
            "open": self.open_mode,
            "n": self.n,
            "c": self.c,
            "database": self.database,
            "request_cost_ms": {k: v * 1000 for k, v in self.request_cost_s.items()},
            "aborted": self.aborted,
        }


def _blocking_words(share: float, starved: bool = False) -> str:
    """``blocks the loop`` or ``loop free`` only when the share is clear of the threshold;
    ``loop free; cores saturated`` when the loop was late because it waited for a core."""
    if share >= BLOCKED_SHARE + MARGIN:
        return "loop free; cores saturated" if starved else "blocks the loop"
    if share <= BLOCKED_SHARE - MARGIN:
        return "loop free"
    return f"loop blocked {share:.0%} of the run"


def _model_words(ratio: float) -> str:
    """``as modelled``, or slower / faster only when the ratio is clear of the tolerance."""
    off = abs(ratio - 1.0)
    if off <= MODEL_TOLERANCE:
        return "as modelled"
    if off <= MODEL_TOLERANCE + MARGIN:
        return f"close to model ({ratio:.2f}x)"
    return "slower than model" if ratio > 1 else "faster than model"
