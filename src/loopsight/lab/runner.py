"""Run lab scenarios on real uvicorn servers and set each beside the model and the seed.

Scenarios that share server settings share one server, its time scaled by ``scale``; each
scenario is one load run. Measured times are divided by the scale so they read in the seed's
units. A heartbeat inside the server says how long its loop was blocked. Scenarios that call
an external service get a second local server as their slow upstream.

A run reads as named steps: ``run_lab`` → ``_Lab.startup`` → ``_Lab.main_loop`` (one
``_LabServer`` per batch of scenarios: calibrate on hello, then ``measure`` each, its own
calibration at c=1 first) → ``_Lab.shutdown``.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from loopsight.errors import LoopsightError
from loopsight.lab._calibrate import (
    Costs,
    CpuClock,
    CpuReading,
    CpuUse,
    background_load,
    calibrated_model,
    group_share,
    resolved,
    server_cores,
)
from loopsight.lab._heartbeat import STATS_PATH
from loopsight.lab._joins import (
    StaticFinding,
    fetch_stalls,
    fetch_trace,
    findings_by_scenario,
    summarise_stalls,
)
from loopsight.lab.results import LabRun, ScenarioRun
from loopsight.lab.scenarios import SCENARIOS, Scenario
from loopsight.load import LoadConfig, LoadResult, run_load_sync
from loopsight.model import Cpu, OpenMode, Prediction, predict
from loopsight.server import UvicornServer

__all__ = [
    "DEFAULT_SCALE",
    "LabHooks",
    "LabOptions",
    "LabRun",
    "ScenarioRun",
    "StaticFinding",
    "database_kind",
    "longest_hold_s",
    "run_lab",
    "stall_threshold_ms",
]

DEFAULT_SCALE = 0.03
"""Makes the default run (the seeds' groups, ``ab``, n=200, c=100) take about 45 s: the
seed's 1323 s of ``ab`` time times 0.03."""

APP = "loopsight.lab.app:app"
UPSTREAM_APP = "loopsight.lab.upstream:app"
_CALIBRATION = {"async": "hello-async", "sync": "hello-sync"}
_IDLE_S = 0.2  # how long the servers' idle CPU is watched before a scenario's calibration
_OPEN_MODES: tuple[OpenMode, ...] = ("ab", "all")


def database_kind(url: str | None) -> str:
    """``postgresql`` or ``sqlite`` (the embedded default) for a database URL."""
    if url is None or url.startswith("sqlite"):
        return "sqlite"
    if url.startswith(("postgresql", "postgres")):
        return "postgresql"
    raise LoopsightError(f"--db {url!r} is not a sqlite:// or postgresql:// URL")


@dataclass(frozen=True)
class LabOptions:
    """How to run the lab; every check of the input is made here, when the options are built."""

    scale: float = DEFAULT_SCALE
    open_mode: OpenMode = "ab"
    n: int = 200
    c: int = 100
    calibrate: bool = True
    database_url: str | None = None
    cores: int | None = None  # pin the lab server to this many cores (None: all it may use)

    def __post_init__(self) -> None:
        if self.open_mode not in _OPEN_MODES:
            raise LoopsightError(f"--open {self.open_mode!r} is not a mode: use 'all' or 'ab'")
        if not self.scale > 0:
            raise LoopsightError(f"--scale must be a positive factor (got {self.scale:g})")
        if self.n <= 0 or self.c <= 0:
            raise LoopsightError(f"-n and -c must be positive (got -n {self.n} -c {self.c})")
        if self.c > self.n:
            raise LoopsightError(
                f"-c {self.c} is more than -n {self.n}: use at most one connection per request"
            )
        database_kind(self.database_url)
        if self.cores is not None:
            available = server_cores(None)
            if not 1 <= self.cores <= available:
                raise LoopsightError(
                    f"--cores {self.cores}: choose between 1 and the {available} this process"
                    " may use"
                )

    @property
    def database(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return database_kind(self.database_url)


@dataclass(frozen=True)
class LabHooks:
    """What the caller hears as the run goes: a scenario starts, requests complete, it ends."""

    on_start: Callable[[Scenario], None] = lambda scenario: None
    on_progress: Callable[[int], None] = lambda done: None
    on_done: Callable[[ScenarioRun], None] = lambda run: None


def longest_hold_s(scenario: Scenario) -> float:
    """The longest time one request holds the loop without a break, in seed seconds: adjacent
    loop phases are one hold (nothing runs between them)."""
    longest = current = 0.0
    for phase in scenario.phases:
        current = current + phase.seconds if phase.resource == "loop" else 0.0
        longest = max(longest, current)
    return longest


def stall_threshold_ms(scale: float, scenarios: Sequence[Scenario] = ()) -> float:
    """The watchdog's threshold for a lab run: half the shortest hold it must catch, scaled.

    A blocking route must be flagged, and a fixed one must not: on a busy 2-core machine a
    fixed route still holds the loop while serving a burst, most of all when a hundred requests
    make anyio start forty worker threads (``Thread.start`` waits for each thread to run:
    17-58 ms measured at c=100 on case 4). Halfway to the shortest blocking hold among the
    scenarios run leaves room both ways: the default run's shortest is case 2's 6 seed-seconds
    (180 ms at scale 0.03, threshold 90 ms). With no blocking scenario chosen, the shortest
    in the chosen scenarios' groups is used, then the shortest of all (one seed-second).
    Below a scale of about 0.1 the one-second routes of ``--group all`` hold the loop no
    longer than serving does, so their fixed twins may show small stalls.
    """
    groups = {s.group for s in scenarios}
    for candidates in (scenarios, [s for s in SCENARIOS if s.group in groups], SCENARIOS):
        holds = [longest_hold_s(s) for s in candidates if s.pattern == "bad" and s.stalls]
        if any(holds):
            break
    shortest = min(hold for hold in holds if hold > 0)
    return max(5.0, 1000.0 * shortest * scale / 2)


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


class _CalibrationCut(Exception):
    """A warm-up or calibration load was cut short (Ctrl-C, failures): what it measured."""

    def __init__(self, load: LoadResult) -> None:
        super().__init__(load.aborted)
        self.load = load


@dataclass(frozen=True)
class _Window:
    """When a scenario's load ran, on the server's stall counter and the wall clock."""

    stalls_seen: int  # the server's stall count before the load
    blocked_before_s: float  # the heartbeat's blocked total before the load
    started: float  # perf_counter at the first request
    wall_started: float  # Unix time at the first request, to cut the trace


class _LabServer:
    """One lab server and the scenarios it serves, measured one after the other."""

    def __init__(
        self,
        server: UvicornServer,
        options: LabOptions,
        token: str,
        upstream: UvicornServer | None = None,
    ) -> None:
        self.server = server
        self.options = options
        self.token = token
        self.upstream = upstream
        self.costs: dict[str, float] = {}
        self.base: dict[str, Costs] = {}  # hello's costs at c=1, by dispatch

    def calibrate(self, scenarios: Sequence[Scenario]) -> str | None:
        """Measure the hello routes under the run's load; return why it failed, if it did."""
        o = self.options
        modelled = [x for x in scenarios if x.has_model]
        kinds = {"async"} | {dispatch(x) for x in modelled} if modelled else set()
        for kind in sorted(kinds):
            route = next(x.route for x in SCENARIOS if x.name == _CALIBRATION[kind])
            probe = _load(self.server, route, o.n, o.c, o.open_mode, 30.0)
            if probe.aborted:
                return f"calibration: {probe.aborted}"
            self.costs[kind] = probe.total_s / o.n
            hello = next(x for x in SCENARIOS if x.name == _CALIBRATION[kind])
            try:
                self.base[kind], _ = self._at_c1(hello, 50, 30.0)
            except _CalibrationCut as cut:
                return f"calibration: {cut.load.aborted}"
        return None

    def measure(
        self, scenario: Scenario, trace_dir: Path | None, on_progress: Callable[[int], None]
    ) -> ScenarioRun:
        """Load the scenario's route and gather what the server saw meanwhile."""
        o = self.options
        n = max(1, round(o.n * scenario.requests_factor))
        c = min(o.c, n)
        try:
            self._warm_up(scenario, _request_timeout(None, o.scale) + 60.0)
            costs = self._calibrate_costs(scenario) if o.calibrate and scenario.has_model else None
        except _CalibrationCut as cut:  # Ctrl-C or a failure: keep what the probe measured
            return ScenarioRun(scenario, o.scale, cut.load, None, None, n, c)
        model = self._predict(scenario, n, c, costs)
        timeout = _request_timeout(model, o.scale) if model else 60.0
        log_offset = self.server.log_offset()
        settled_before = self._settled(scenario)
        window = self._open_window()
        during = CpuClock(self._pids())
        load = _load(self.server, scenario.route, n, c, o.open_mode, timeout, on_progress)
        used = during.since()
        log = tuple(self.server.log_from(log_offset).splitlines())
        run = ScenarioRun(
            scenario, o.scale, load, None, model, n, c, self.costs.get("async", 0.0), log
        )
        run = replace(run, costs=costs, cpu_under_load=used)
        if load.aborted:
            return run  # the server may still be busy with queued requests: ask it nothing
        self._settle(scenario, load.summary().status.get(200, 0), settled_before)
        return self._close_window(run, window, trace_dir)

    def _calibrate_costs(self, scenario: Scenario) -> Costs:
        """One request's costs at c=1 (a few requests, after the warm-up), real seconds.

        What the processes spend idle over the same time is taken out; a cost that does not
        stand clear of it is taken from hello's, where requests come densely."""
        o = self.options
        estimate = sum(p.seconds for p in (*scenario.phases, *scenario.after)) * o.scale
        requests = max(2, min(50, int(0.5 / max(estimate, 0.01))))
        measured, idle = self._at_c1(scenario, requests, 60.0 + 4 * estimate)
        base = self.base.get(dispatch(scenario)) or self.base.get("async")
        if base is None:
            return measured
        m, i, b = measured.server, idle.server, base.server
        # The watchdog samples a stalled loop's stack on the loop's thread: CPU spent inside
        # a hold the route declares as waiting (time.sleep, a sync driver), not after it.
        every = (*scenario.phases_for(o.database), *scenario.after)
        waits_on_loop = any(p.resource == "loop" and p.cpu is Cpu.NONE for p in every)
        return replace(
            measured,
            server=CpuReading(
                b.loop_s if waits_on_loop else resolved(m.loop_s, i.loop_s, b.loop_s),
                resolved(m.threads_s, i.threads_s, b.threads_s),
                resolved(m.children_s, i.children_s, 0.0),
            ),
            client_s=resolved(measured.client_s, idle.client_s, base.client_s),
            upstream_s=resolved(measured.upstream_s, idle.upstream_s, 0.0),
        )

    def _at_c1(self, scenario: Scenario, requests: int, timeout: float) -> tuple[Costs, Costs]:
        """``requests`` one at a time: what each cost, and what the processes spent idle over
        as long (both per request, real seconds)."""
        pids = self._pids()
        machine = os.cpu_count() or 1
        background = background_load(machine)
        limit = group_share(machine)
        idle_clock = CpuClock(pids)
        time.sleep(_IDLE_S)
        idle = idle_clock.since()
        settled_before = self._settled(scenario)
        busy = CpuClock(pids)
        probe = _load(self.server, scenario.route, requests, 1, "all", timeout)
        if probe.aborted:
            raise _CalibrationCut(probe)
        # Until the last answer: work a request leaves to run detached afterwards (a bounded
        # runner's chunks) is not what its answer costs; what holds the loop is in its phases.
        used = busy.since()
        self._settle(scenario, probe.summary().status.get(200, 0), settled_before)
        cores = server_cores(self.server.pid)
        others = background * cores / machine  # the others' share of the server's cores

        def per_request(use: CpuUse, factor: float) -> Costs:
            each = factor / requests
            server = use.server
            return Costs(
                requests,
                probe.total_s / requests,
                CpuReading(server.loop_s * each, server.threads_s * each, server.children_s * each),
                use.client_s * each,
                use.upstream_s * each,
                cores,
                others,
                min(float(cores), limit * cores / machine),
            )

        scale_idle = used.elapsed_s / idle.elapsed_s if idle.elapsed_s > 0 else 0.0
        return per_request(used.less(idle), 1.0), per_request(idle, scale_idle)

    def _pids(self) -> tuple[int, int]:
        """The lab server's pid and the upstream's (0 without one)."""
        upstream = self.upstream.pid if self.upstream is not None else None
        return self.server.pid or 0, upstream or 0

    def _predict(
        self, scenario: Scenario, n: int, c: int, costs: Costs | None
    ) -> Prediction | None:
        """The model's prediction: from the costs calibrated before the run when there are
        some, else the scenario's phases plus the loop's cost per request measured on hello."""
        if not scenario.has_model:
            return None
        if costs is not None:
            return self._predict_calibrated(scenario, n, c, costs)
        if not scenario.timed:
            return None
        o = self.options
        # Every request pays the loop's arrival cost (measured on /async); a thread-pool phase
        # also pays the hand-off to a worker (what /sync costs on top), inside its token.
        cost_s = self.costs.get("async", 0.0)
        dispatch_s = max(0.0, self.costs.get("sync", cost_s) - cost_s)
        return predict(
            scenario.phases_for(o.database),
            n=n,
            c=c,
            open_mode=o.open_mode,
            pool_size=scenario.pool_size,
            loop_cost_s=cost_s / o.scale,
            dispatch_s=dispatch_s / o.scale,
            capacities=scenario.capacities,
            after=scenario.after,
            cores=server_cores(self.server.pid),
        )

    def _predict_calibrated(self, scenario: Scenario, n: int, c: int, costs: Costs) -> Prediction:
        """Every CPU cost as measured at c=1, shared over the server's cores and the load
        other programs put on them; waits as the scenario declares them."""
        o = self.options
        unit = o.scale if scenario.timed else 1.0  # the report's units: seed or real seconds
        to_units = o.scale / unit
        declared = tuple(p.scaled(to_units) for p in scenario.phases_for(o.database))
        after = tuple(p.scaled(to_units) for p in scenario.after)
        model = calibrated_model(
            declared,
            after,
            costs.per_request(unit),
            capacities=scenario.capacities,
            pool_size=scenario.pool_size,
            children_hold=scenario.children_hold,
            residual_on=scenario.residual_on,
        )
        return model.predict(n, c, o.open_mode)

    def _warm_up(self, scenario: Scenario, timeout: float) -> None:
        """One request first, so first-use costs (lazy imports, new threads) are not measured."""
        settled_before = self._settled(scenario)
        warm = _load(self.server, scenario.route, 1, 1, "all", timeout)
        if warm.aborted:  # Ctrl-C here must stop the run as it would during the load
            raise _CalibrationCut(warm)
        self._settle(scenario, warm.summary().status.get(200, 0), settled_before)

    def _open_window(self) -> _Window:
        blocked = _blocked_s(self.server)
        seen, _ = fetch_stalls(self.server.url, self.token)
        return _Window(seen, blocked, time.perf_counter(), time.time())

    def _close_window(
        self, run: ScenarioRun, window: _Window, trace_dir: Path | None
    ) -> ScenarioRun:
        """The run with what the server saw between the window's start and now."""
        scenario = run.scenario
        elapsed = time.perf_counter() - window.started
        _, stalls = fetch_stalls(self.server.url, self.token)
        trace = None
        if scenario.trace and trace_dir is not None:
            trace = f"trace-{scenario.name}.json"
            span = (window.wall_started, window.wall_started + elapsed)
            fetch_trace(self.server.url, self.token, trace_dir / trace, span)
        return replace(
            run,
            blocked_s=_blocked_s(self.server) - window.blocked_before_s,
            window_s=elapsed,
            stalls=summarise_stalls(stalls, window.stalls_seen, scenario),
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
def _upstream(
    scenarios: Sequence[Scenario], env: Mapping[str, str]
) -> Iterator[UvicornServer | None]:
    if not any(s.group == "external" for s in scenarios):
        yield None
        return
    with UvicornServer(UPSTREAM_APP, env=env, health_path="/") as upstream:
        yield upstream


@contextlib.contextmanager
def _pinned(cores: int | None) -> Iterator[None]:
    """Run the block on the first ``cores`` cores this thread may use: a process started
    meanwhile inherits them, and so do its threads and children."""
    if cores is None:
        yield
        return
    allowed = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, allowed[:cores])
    try:
        yield
    finally:
        os.sched_setaffinity(0, allowed)


@contextlib.contextmanager
def _serving(server: UvicornServer, cores: int | None) -> Iterator[UvicornServer]:
    """The server running, started on ``cores`` cores, stopped when the block ends."""
    with _pinned(cores):
        server.start()
    try:
        yield server
    finally:
        server.stop()


class _Lab:
    """One lab run: the steps ``startup`` → ``main_loop`` → ``shutdown``, and what they gather."""

    def __init__(self, options: LabOptions, hooks: LabHooks, trace_dir: Path | None) -> None:
        self.options = options
        self.hooks = hooks
        self.trace_dir = trace_dir
        self.token = secrets.token_urlsafe(16)
        self.findings: dict[str, list[StaticFinding]] = {}
        self.runs: dict[str, ScenarioRun] = {}
        self.costs: dict[str, float] = {}
        self.aborted: str | None = None

    def run(self, scenarios: Sequence[Scenario]) -> LabRun:
        env = self.startup(scenarios)
        try:
            with _upstream(scenarios, env) as upstream:
                if upstream is not None:
                    env["LOOPSIGHT_LAB_UPSTREAM"] = upstream.url
                self.main_loop(scenarios, env, upstream)
        except KeyboardInterrupt:  # starting or stopping a server: keep the runs so far
            self.aborted = self.aborted or f"{self._step(scenarios)}: interrupted (Ctrl-C)"
        return self.shutdown(scenarios)

    def _step(self, scenarios: Sequence[Scenario]) -> str:
        """The scenario the run had reached: the first one not measured yet."""
        return next((s.name for s in scenarios if s.name not in self.runs), "shutdown")

    def startup(self, scenarios: Sequence[Scenario]) -> dict[str, str]:
        """Join the scenarios with the checker's findings; the servers' environment."""
        o = self.options
        self.findings = findings_by_scenario(scenarios)
        env = {
            "LOOPSIGHT_LAB_SCALE": repr(o.scale),
            "PYTHONWARNINGS": "always::RuntimeWarning",  # every missed await, not just the first
            "LOOPSIGHT_LAB_RUNTIME_TOKEN": self.token,
            "LOOPSIGHT_LAB_STALL_MS": repr(stall_threshold_ms(o.scale, scenarios)),
        }
        if o.database_url is not None:
            env["LOOPSIGHT_LAB_DB"] = o.database_url
        return env

    def main_loop(
        self,
        scenarios: Sequence[Scenario],
        base_env: Mapping[str, str],
        upstream: UvicornServer | None = None,
    ) -> None:
        """One server per batch of scenarios that share settings (pinned to ``--cores`` when
        asked); stop at the first abort."""
        for env, batch in _batches(scenarios):
            server = UvicornServer(APP, env={**base_env, **env}, health_path=STATS_PATH)
            with _serving(server, self.options.cores):
                lab_server = _LabServer(server, self.options, self.token, upstream)
                if self.options.calibrate:
                    try:
                        self.aborted = lab_server.calibrate(batch)
                    except KeyboardInterrupt:  # keep the runs of earlier batches
                        self.aborted = "calibration: interrupted (Ctrl-C)"
                self.costs = self.costs or lab_server.costs
                for scenario in [] if self.aborted else batch:
                    if not self.serve(lab_server, scenario):
                        server.stop(timeout=2.0)  # don't wait for a loop still busy
                        break
            if self.aborted:
                break

    def serve(self, lab_server: _LabServer, scenario: Scenario) -> bool:
        """Measure one scenario; ``False`` when the run must stop here."""
        self.hooks.on_start(scenario)
        try:
            run = lab_server.measure(scenario, self.trace_dir, self.hooks.on_progress)
        except KeyboardInterrupt:  # outside a load: keep the runs so far
            self.aborted = f"{scenario.name}: interrupted (Ctrl-C)"
            return False
        run = replace(run, findings=tuple(self.findings.get(scenario.name, ())))
        self.runs[scenario.name] = run
        self.hooks.on_done(run)
        if run.load.aborted:
            self.aborted = f"{scenario.name}: {run.load.aborted}"
            return False
        return True

    def shutdown(self, scenarios: Sequence[Scenario]) -> LabRun:
        """The lab run, its scenarios in the order asked."""
        o = self.options
        ordered = [self.runs[s.name] for s in scenarios if s.name in self.runs]
        return LabRun(ordered, o.scale, o.open_mode, o.n, o.c, self.costs, self.aborted, o.database)


def run_lab(
    scenarios: Sequence[Scenario],
    options: LabOptions,
    *,
    trace_dir: Path | None = None,
    hooks: LabHooks | None = None,
) -> LabRun:
    """Measure ``scenarios`` in order; stop early if a run is cut short.

    With ``options.calibrate``, the hello routes are measured first under the same load (the
    loop's time per request, reported) and one at a time (hello's CPU per request), then each
    scenario before its run: a few requests at c=1, their CPU read from ``/proc`` by where it
    ran, and the share of the cores the lab gets now (``loopsight.lab._calibrate``). The model
    shares those costs over the server's cores and the GIL. Without it, the model is the
    scenario's phases plus nothing the machine adds. Every
    scenario is joined with the static checker's findings on its route and the stalls the
    runtime watchdog attributed to it; scenarios marked for it leave a Perfetto trace of their
    own window in ``trace_dir``.
    """
    return _Lab(options, hooks or LabHooks(), trace_dir).run(scenarios)
