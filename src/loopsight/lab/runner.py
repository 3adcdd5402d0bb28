"""Run lab scenarios on real uvicorn servers and set each beside the model and the seed.

Scenarios that share server settings share one server, its time scaled by ``scale``; each
scenario is one load run. Measured times are divided by the scale so they read in the seed's
units. A heartbeat inside the server says how long its loop was blocked. Scenarios that call
an external service get a second local server as their slow upstream.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from loopsight.errors import LoopsightError
from loopsight.lab._joins import (
    StaticFinding,
    fetch_stalls,
    fetch_trace,
    findings_by_scenario,
    summarise_stalls,
)
from loopsight.lab.results import LabRun, ScenarioRun
from loopsight.lab.scenarios import CATALOGUE, Scenario
from loopsight.load import LoadConfig, LoadResult, run_load_sync
from loopsight.model import OpenMode, Prediction, predict
from loopsight.server import UvicornServer

__all__ = [
    "DEFAULT_SCALE",
    "LabRun",
    "ScenarioRun",
    "StaticFinding",
    "database_kind",
    "run_lab",
    "stall_threshold_ms",
]

DEFAULT_SCALE = 0.03
"""Makes the default run (the seeds' groups, ``ab``, n=200, c=100) take about 45 s: the
seed's 1323 s of ``ab`` time times 0.03."""

APP = "loopsight.lab.app:app"
UPSTREAM_APP = "loopsight.lab.upstream:app"
STATS_PATH = "/_lab/stats"  # kept in step with loopsight.lab.app.STATS_PATH without importing it
_CALIBRATION = {"async": "hello-async", "sync": "hello-sync"}


def database_kind(url: str | None) -> str:
    """``postgresql`` or ``sqlite`` (the embedded default) for a database URL."""
    if url is None or url.startswith("sqlite"):
        return "sqlite"
    if url.startswith(("postgresql", "postgres")):
        return "postgresql"
    raise LoopsightError(f"--db {url!r} is not a sqlite:// or postgresql:// URL")


def stall_threshold_ms(scale: float) -> float:
    """The watchdog's threshold for the lab: half a seed-second, scaled, and at least 5 ms.

    The shortest blocking call in the catalogue is one seed-second; a fixed 100 ms would miss
    it at the small scales that keep a run short.
    """
    return max(5.0, 500.0 * scale)


def dispatch(scenario: Scenario) -> str:
    """How the route's work reaches the server: ``"sync"`` if any of it uses the thread pool."""
    return "sync" if any(phase.resource == "pool" for phase in scenario.phases) else "async"


def _blocked_s(server: UvicornServer) -> float:
    try:
        with urllib.request.urlopen(server.url + STATS_PATH, timeout=30) as response:
            stats = json.loads(response.read())
        return float(stats["blocked_s"])
    except (OSError, ValueError, KeyError) as exc:
        raise LoopsightError(f"the lab server stopped answering {STATS_PATH}: {exc}") from exc


def _request_timeout(model: Prediction | None, scale: float) -> float:
    # A queued request may wait as long as the whole predicted run; leave ample slack.
    predicted = model.total_s * scale if model is not None else 0.0
    return max(30.0, 2.0 * predicted + 10.0)


def _load(
    server: UvicornServer,
    route: str,
    n: int,
    c: int,
    open_mode: OpenMode,
    timeout: float,
    on_progress: Callable[[int], None] | None = None,
) -> LoadResult:
    config = LoadConfig(url=server.url + route, n=n, c=c, open_mode=open_mode, timeout=timeout)
    return run_load_sync(config, on_progress)


def _batches(scenarios: Sequence[Scenario]) -> list[tuple[dict[str, str], list[Scenario]]]:
    """Scenarios grouped by the server settings they need, in order of first appearance."""
    batches: dict[tuple[tuple[str, str], ...], list[Scenario]] = {}
    for scenario in scenarios:
        batches.setdefault(tuple(sorted(scenario.server_env.items())), []).append(scenario)
    return [(dict(key), batch) for key, batch in batches.items()]


@dataclass(frozen=True)
class _Settings:
    scale: float
    open_mode: OpenMode
    n: int
    c: int
    calibrate: bool
    database: str
    token: str
    trace_dir: Path | None
    on_start: Callable[[Scenario], None] | None
    on_progress: Callable[[int], None] | None
    on_done: Callable[[ScenarioRun], None] | None


class _Session:
    """One lab server and the scenarios it serves."""

    def __init__(self, server: UvicornServer, settings: _Settings) -> None:
        self.server = server
        self.settings = settings
        self.costs: dict[str, float] = {}

    def calibrate(self, scenarios: Sequence[Scenario]) -> str | None:
        """Measure the hello routes under the run's load; return why it failed, if it did."""
        s = self.settings
        modelled = [x for x in scenarios if x.has_model]
        kinds = {"async"} | {dispatch(x) for x in modelled} if modelled else set()
        for kind in sorted(kinds):
            route = next(x.route for x in CATALOGUE if x.name == _CALIBRATION[kind])
            probe = _load(self.server, route, s.n, s.c, s.open_mode, 30.0)
            if probe.aborted:
                return f"calibration: {probe.aborted}"
            self.costs[kind] = probe.total_s / s.n
        return None

    def measure(self, scenario: Scenario) -> ScenarioRun:
        """Load the scenario's route and gather what the server saw meanwhile."""
        s = self.settings
        n = max(1, round(s.n * scenario.requests_factor))
        c = min(s.c, n)
        # Every request pays the loop's arrival cost (measured on /async); a thread-pool phase
        # also pays the hand-off to a worker (what /sync costs on top), inside its token.
        cost_s = self.costs.get("async", 0.0)
        dispatch_s = max(0.0, self.costs.get("sync", cost_s) - cost_s)
        model = None
        if scenario.has_model:
            model = predict(
                scenario.phases_for(s.database),
                n=n,
                c=c,
                open_mode=s.open_mode,
                pool_size=scenario.pool_size,
                loop_cost_s=cost_s / s.scale,
                dispatch_s=dispatch_s / s.scale,
                capacities=scenario.capacities,
            )
        # One request first, so first-use costs (lazy imports, new threads) are not measured.
        warm_from = self._settled(scenario)
        warm = _load(self.server, scenario.route, 1, 1, "all", _request_timeout(model, s.scale))
        self._settle(scenario, warm.summary().status.get(200, 0), warm_from)
        log_offset = self.server.log_offset()
        settled_before = self._settled(scenario)
        before = _blocked_s(self.server)
        seen, _ = fetch_stalls(self.server.url, s.token)
        started = time.perf_counter()
        timeout = _request_timeout(model, s.scale) if model else 60.0
        load = _load(self.server, scenario.route, n, c, s.open_mode, timeout, s.on_progress)
        log = tuple(self.server.log_from(log_offset).splitlines())
        run = ScenarioRun(scenario, s.scale, load, None, model, n, c, cost_s, log)
        if load.aborted:
            return run  # the server may still be busy with queued requests: ask it nothing
        self._settle(scenario, load.summary().status.get(200, 0), settled_before)
        window = time.perf_counter() - started
        _, stalls = fetch_stalls(self.server.url, s.token)
        trace = None
        if scenario.trace and s.trace_dir is not None:
            trace_path = s.trace_dir / f"trace-{scenario.name}.json"
            fetch_trace(self.server.url, s.token, trace_path)
            trace = trace_path.name
        return replace(
            run,
            blocked_s=_blocked_s(self.server) - before,
            window_s=window,
            stalls=summarise_stalls(stalls, seen, scenario),
            trace=trace,
        )

    def _settled(self, scenario: Scenario) -> int:
        """How many of the scenario's background tasks have finished so far."""
        if scenario.settle is None:
            return 0
        path, kind, _ = scenario.settle
        with urllib.request.urlopen(self.server.url + path, timeout=30) as response:
            row = json.loads(response.read())[kind]
        return int(row["completed"]) + int(row["failed"])

    def _settle(self, scenario: Scenario, answered: int, settled_before: int) -> None:
        """Wait (bounded) until the background tasks ``answered`` requests left have run."""
        if scenario.settle is None:
            return
        expected = settled_before + answered * scenario.settle[2]
        deadline = time.monotonic() + 120.0
        while self._settled(scenario) < expected:
            if time.monotonic() > deadline:
                raise LoopsightError(f"{scenario.name}: background tasks still running after 120 s")
            time.sleep(0.02)


@contextlib.contextmanager
def _upstream(scenarios: Sequence[Scenario], env: Mapping[str, str]) -> Iterator[str | None]:
    if not any(s.group == "external" for s in scenarios):
        yield None
        return
    with UvicornServer(UPSTREAM_APP, env=env, health_path="/") as upstream:
        yield upstream.url


def run_lab(
    scenarios: Sequence[Scenario],
    *,
    scale: float,
    open_mode: OpenMode = "ab",
    n: int = 200,
    c: int = 100,
    calibrate: bool = True,
    database_url: str | None = None,
    trace_dir: Path | None = None,
    on_start: Callable[[Scenario], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
    on_done: Callable[[ScenarioRun], None] | None = None,
) -> LabRun:
    """Measure ``scenarios`` in order; stop early if a run is cut short.

    With ``calibrate``, the hello routes are measured first under the same load: their time
    per request is what every request costs the server's loop (parsing, routing; and the
    hand-off to a worker thread for each thread-pool phase), and the model includes it. Every
    scenario is joined with the static checker's findings on its route and the stalls the
    runtime watchdog attributed to it; scenarios marked for it leave a Perfetto trace in
    ``trace_dir``.
    """
    if not scale > 0:
        raise LoopsightError(f"--scale must be a positive factor (got {scale:g})")
    if n <= 0 or c <= 0:
        raise LoopsightError(f"-n and -c must be positive (got -n {n} -c {c})")
    if c > n:
        raise LoopsightError(f"-c {c} is more than -n {n}: use at most one connection per request")
    database = database_kind(database_url)
    token = secrets.token_urlsafe(16)
    settings = _Settings(
        scale,
        open_mode,
        n,
        c,
        calibrate,
        database,
        token,
        trace_dir,
        on_start,
        on_progress,
        on_done,
    )
    findings = findings_by_scenario(scenarios)
    base_env = {
        "LOOPSIGHT_LAB_SCALE": repr(scale),
        "PYTHONWARNINGS": "always::RuntimeWarning",  # every missed await, not just the first
        "LOOPSIGHT_LAB_RUNTIME_TOKEN": token,
        "LOOPSIGHT_LAB_STALL_MS": repr(stall_threshold_ms(scale)),
    }
    if database_url is not None:
        base_env["LOOPSIGHT_LAB_DB"] = database_url
    runs: dict[str, ScenarioRun] = {}
    costs: dict[str, float] = {}
    aborted: str | None = None
    with _upstream(scenarios, base_env) as upstream_url:
        if upstream_url is not None:
            base_env["LOOPSIGHT_LAB_UPSTREAM"] = upstream_url
        for env, batch in _batches(scenarios):
            with UvicornServer(APP, env={**base_env, **env}, health_path=STATS_PATH) as server:
                session = _Session(server, settings)
                if calibrate:
                    aborted = session.calibrate(batch)
                costs = costs or session.costs
                for scenario in [] if aborted else batch:
                    if on_start is not None:
                        on_start(scenario)
                    try:
                        run = session.measure(scenario)
                    except KeyboardInterrupt:  # outside a load: keep the runs so far
                        aborted = f"{scenario.name}: interrupted (Ctrl-C)"
                        server.stop(timeout=2.0)
                        break
                    run = replace(run, findings=tuple(findings.get(scenario.name, ())))
                    runs[scenario.name] = run
                    if on_done is not None:
                        on_done(run)
                    if run.load.aborted:
                        aborted = f"{scenario.name}: {run.load.aborted}"
                        server.stop(timeout=2.0)  # don't wait for a loop still busy
                        break
            if aborted:
                break
    ordered = [runs[s.name] for s in scenarios if s.name in runs]
    return LabRun(ordered, scale, open_mode, n, c, costs, aborted, database)
