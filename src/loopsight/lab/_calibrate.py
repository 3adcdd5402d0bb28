"""What one request of a scenario costs, measured before its run at c=1, and the model's phases
built from it.

The server's CPU is read from Linux's ``/proc``: the loop's thread from its ``schedstat``
(nanoseconds), the other threads from the process's ``stat`` less the loop's (clock ticks, so
dead threads count too), child processes (a process pool, ``Pool()`` per request, through the
forkserver) from every descendant's ``stat`` with the children it reaped. The load driver's CPU
is this process's ``time.process_time``. What the servers and the driver spend while idle (the
heartbeat, the watchdog's timers, polling) is measured apart and taken out. Other programs' load
is what a spinning thread gets of a core.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from loopsight.model import Cpu, OpenMode, Phase, Prediction, Resource, cpu, gil, predict, wait

__all__ = [
    "CalibratedModel",
    "Costs",
    "CpuClock",
    "CpuReading",
    "CpuUse",
    "Place",
    "background_load",
    "calibrated_model",
    "calibrated_phases",
    "group_share",
    "place_of",
    "read_cpu",
    "residual",
    "resolved",
    "server_cores",
]

_TICK_S = 1.0 / os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 0.01
_PROC = Path("/proc")


@dataclass(frozen=True)
class CpuReading:
    """CPU seconds a process tree has used so far, by where they ran."""

    loop_s: float = 0.0  # the main thread: the event loop's
    threads_s: float = 0.0  # the process's other threads (thread pool, driver threads)
    children_s: float = 0.0  # child processes, alive or reaped
    process_s: float = 0.0  # all the process's threads, dead ones too (clock ticks)

    def __sub__(self, other: CpuReading) -> CpuReading:
        threads = self.threads_s - other.threads_s
        counted = (self.process_s - other.process_s) - (self.loop_s - other.loop_s)
        if counted - threads > 2 * _TICK_S:  # threads that ended took their time with them
            threads = counted
        return CpuReading(
            self.loop_s - other.loop_s,
            max(0.0, threads),
            max(0.0, self.children_s - other.children_s),
        )

    @property
    def total_s(self) -> float:
        """All of it."""
        return self.loop_s + self.threads_s + self.children_s


def _stat_fields(path: Path) -> list[str]:
    # The command name (field 2) may hold spaces: split after its closing parenthesis.
    text = path.read_text()
    return text[text.rindex(")") + 2 :].split()


def _own_and_reaped_s(pid: int) -> tuple[float, float]:
    """(CPU of the process's threads, CPU of the children it reaped), in seconds."""
    fields = _stat_fields(_PROC / str(pid) / "stat")
    # utime, stime, cutime, cstime are fields 14-17 of stat; [0] here is field 3.
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
    return (utime + stime) * _TICK_S, (cutime + cstime) * _TICK_S


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in (_PROC / str(pid) / "task").iterdir():
        try:
            found += [int(x) for x in (task / "children").read_text().split()]
        except OSError:
            continue  # the thread ended meanwhile
    return found


def _thread_ns(pid: int) -> tuple[int, int]:
    """(the main thread's CPU, the other live threads' CPU), in nanoseconds (schedstat)."""
    main = others = 0
    for task in (_PROC / str(pid) / "task").iterdir():
        try:
            used = int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue  # the thread ended meanwhile
        if task.name == str(pid):
            main = used
        else:
            others += used
    return main, others


def read_cpu(pid: int) -> CpuReading:
    """What the process ``pid`` and its descendants have used so far (zeros if it is gone)."""
    try:
        loop_ns, threads_ns = _thread_ns(pid)
        own, reaped = _own_and_reaped_s(pid)
        children = reaped
        pending = _children(pid)
        while pending:
            child = pending.pop()
            try:
                child_own, child_reaped = _own_and_reaped_s(child)
                pending += _children(child)
            except OSError:
                continue  # exited between the listing and the read
            children += child_own + child_reaped
    except (OSError, ValueError, IndexError):
        return CpuReading()
    return CpuReading(loop_ns / 1e9, threads_ns / 1e9, children, own)


def server_cores(pid: int | None) -> int:
    """How many cores the process may run on (its affinity), or the machine's."""
    try:
        return len(os.sched_getaffinity(pid or 0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def background_load(cores: int, spin_s: float = 0.1) -> float:
    """How many busy threads other programs put on this machine's ``cores``, as a busy thread
    here sees them: spin ``spin_s`` and see what share of a core it got (a fair scheduler gives
    ``cores / (others + 1)``). 0 when it got a whole core."""
    started, cpu_started = time.perf_counter(), time.thread_time()
    while time.perf_counter() - started < spin_s:
        pass
    share = (time.thread_time() - cpu_started) / (time.perf_counter() - started)
    return max(0.0, cores / min(1.0, max(share, 1e-3)) - 1.0)


@dataclass(frozen=True)
class CpuUse:
    """CPU the lab server, the upstream and the load driver used over ``elapsed_s``."""

    elapsed_s: float
    server: CpuReading
    upstream_s: float
    client_s: float

    def to_json(self, requests: int) -> dict[str, float]:
        """The JSON form: per request, in milliseconds, and the cores' share used."""
        each = 1000.0 / max(requests, 1)
        return {
            "elapsed_s": self.elapsed_s,
            "loop_cpu_ms": self.server.loop_s * each,
            "threads_cpu_ms": self.server.threads_s * each,
            "children_cpu_ms": self.server.children_s * each,
            "client_cpu_ms": self.client_s * each,
            "upstream_cpu_ms": self.upstream_s * each,
            "cores_used": (self.server.total_s + self.client_s + self.upstream_s) / self.elapsed_s
            if self.elapsed_s > 0
            else 0.0,
        }

    def less(self, idle: CpuUse) -> CpuUse:
        """What is left once what they spend idle over the same time is taken out."""
        rate = self.elapsed_s / idle.elapsed_s if idle.elapsed_s > 0 else 0.0
        s, i = self.server, idle.server
        return CpuUse(
            self.elapsed_s,
            CpuReading(
                max(0.0, s.loop_s - rate * i.loop_s),
                max(0.0, s.threads_s - rate * i.threads_s),
                max(0.0, s.children_s - rate * i.children_s),
            ),
            max(0.0, self.upstream_s - rate * idle.upstream_s),
            max(0.0, self.client_s - rate * idle.client_s),
        )


class CpuClock:
    """Started now: ``since()`` says what the processes used from then on."""

    def __init__(self, pids: tuple[int, int]) -> None:
        self.pids = pids
        self.started = time.perf_counter()
        self.server = read_cpu(pids[0])
        self.upstream = read_cpu(pids[1]) if pids[1] else CpuReading()
        self.client = time.process_time()

    def since(self) -> CpuUse:
        upstream = read_cpu(self.pids[1]) if self.pids[1] else CpuReading()
        return CpuUse(
            time.perf_counter() - self.started,
            read_cpu(self.pids[0]) - self.server,
            (upstream - self.upstream).total_s,
            time.process_time() - self.client,
        )


def resolved(measured: float, idle: float, base: float) -> float:
    """``measured`` if it stands clear of what the process spent idle over the same time
    (``idle``: a heartbeat every few milliseconds costs more than a request that mostly
    sleeps), else ``base``, the same cost measured where requests come densely (hello)."""
    return measured if measured > idle else base


def group_share(cores: int, spin_s: float = 0.1) -> float:
    """How many cores ``cores`` busy processes started here get together, now: fork them,
    let each spin ``spin_s``, and add up their CPU (``wait4``). Below ``cores`` when other
    programs take the rest; a scheduler that shares by group of processes shows it here."""
    children = []
    for _ in range(cores):
        pid = os.fork()
        if pid == 0:  # the child spins, then leaves without running any cleanup
            end = time.perf_counter() + spin_s
            while time.perf_counter() < end:
                pass
            os._exit(0)
        children.append(pid)
    used = 0.0
    for pid in children:
        _, _, usage = os.wait4(pid, 0)
        used += usage.ru_utime + usage.ru_stime
    return used / spin_s


@dataclass(frozen=True)
class Costs:
    """One request's costs at c=1, in real seconds, and the machine it ran on."""

    requests: int
    wall_s: float  # mean time from send to answer
    server: CpuReading
    client_s: float  # the load driver's CPU
    upstream_s: float  # the upstream server's CPU (0 without one)
    cores: int  # cores the server may use
    background: float  # other programs' runnable threads, on the server's cores
    limit: float | None = None  # cores the lab's processes get together (None: all)

    def to_json(self) -> dict[str, float]:
        """The JSON form: per request, in milliseconds of real time."""
        return {
            "requests": self.requests,
            "wall_ms": self.wall_s * 1000,
            "loop_cpu_ms": self.server.loop_s * 1000,
            "threads_cpu_ms": self.server.threads_s * 1000,
            "children_cpu_ms": self.server.children_s * 1000,
            "client_cpu_ms": self.client_s * 1000,
            "upstream_cpu_ms": self.upstream_s * 1000,
            "cores": self.cores,
            "background": self.background,
            "limit": self.limit if self.limit is not None else float(self.cores),
        }

    def per_request(self, unit: float) -> Costs:
        """The same costs in the seed's units (divided by ``unit``)."""
        s = self.server
        return replace(
            self,
            wall_s=self.wall_s / unit,
            server=CpuReading(s.loop_s / unit, s.threads_s / unit, s.children_s / unit),
            client_s=self.client_s / unit,
            upstream_s=self.upstream_s / unit,
        )


Place = str
"""Where a phase's CPU work runs: ``"loop"``, ``"threads"`` or ``"children"``."""


def place_of(phase: Phase, children_hold: Resource = "process") -> Place | None:
    """Where a CPU phase runs in the lab server (``None`` for a phase that only waits).

    Work outside the GIL holding ``children_hold`` runs in a child process (a ``"process"``
    pool's worker; ``Pool()`` per request holds the loop while its child computes); any other
    CPU phase runs on the loop's thread when it holds the loop, else in a thread.
    """
    if phase.cpu is Cpu.NONE:
        return None
    if phase.cpu is Cpu.CORE and phase.resource == children_hold:
        return "children"
    return "loop" if phase.resource == "loop" else "threads"


def _measured(costs: Costs, place: Place) -> float:
    return {
        "loop": costs.server.loop_s,
        "threads": costs.server.threads_s,
        "children": costs.server.children_s,
    }[place]


def calibrated_phases(
    phases: Sequence[Phase], costs: Costs, children_hold: Resource = "process"
) -> tuple[Phase, ...]:
    """The scenario's phases with CPU work as measured (``costs`` in the phases' units).

    At each place the declared CPU phases are rescaled to what was measured there (the sized
    work took what it took on this machine); CPU measured where none was declared becomes a
    phase of its own: Python work on the loop as the request arrives, in a thread or a child
    process beside it. The load driver's and the upstream's CPU are phases on their own serial
    resources (``"client"``, ``"upstream"``: one event loop each).
    """
    declared: dict[Place, float] = {}
    for phase in phases:
        where = place_of(phase, children_hold)
        if where is not None:
            declared[where] = declared.get(where, 0.0) + phase.seconds
    out = []
    for phase in phases:
        where = place_of(phase, children_hold)
        if where is not None and declared[where] > 0:
            share = phase.seconds / declared[where]
            phase = replace(phase, seconds=share * _measured(costs, where))
        out.append(phase)
    before: list[Phase] = [cpu(costs.client_s, "client")]
    if not declared.get("loop"):
        before.append(gil(costs.server.loop_s))
    after: list[Phase] = []
    if not declared.get("threads") and costs.server.threads_s > 0:
        after.append(gil(costs.server.threads_s, "wait"))
    if not declared.get("children") and costs.server.children_s > 0:
        after.append(cpu(costs.server.children_s))
    if costs.upstream_s > 0:
        after.append(cpu(costs.upstream_s, "upstream"))
    return (*before, *out, *after)


def residual(
    phases: Sequence[Phase],
    costs: Costs,
    predict_c1: Callable[[Sequence[Phase]], float],
    on: Resource = "wait",
) -> tuple[Phase, ...]:
    """What the c=1 latency has that the phases do not explain (a fork's start-up, a round
    trip), as a phase that waits holding ``on``; nothing when the phases explain it all."""
    gap = costs.wall_s - predict_c1(phases)
    if gap <= 0:
        return ()
    return (wait(gap) if on == "wait" else Phase(on, gap),)


_CPU_BOUND = 0.25  # CPU past this share of the c=1 latency: the latency says how busy cores are
_MAX_BACKGROUND = 64.0


@dataclass(frozen=True)
class CalibratedModel:
    """A scenario's model with its costs as measured: what ``predict`` needs besides n, c."""

    phases: tuple[Phase, ...]
    after: tuple[Phase, ...]
    capacities: Mapping[str, int]
    pool_size: int
    cores: int
    background: float
    requests: int  # how many requests the calibration sent, one at a time
    limit: float | None = None

    def predict(self, n: int, c: int, open_mode: OpenMode = "all") -> Prediction:
        """The model's prediction for ``n`` requests over ``c`` connections."""
        return predict(
            self.phases,
            n=n,
            c=c,
            open_mode=open_mode,
            pool_size=self.pool_size,
            capacities=self.capacities,
            cores=self.cores,
            background=self.background,
            after=self.after,
            limit=self.limit,
        )

    def latency_c1(self) -> float:
        """What one request takes at c=1, as the calibration sent them."""
        return self.predict(self.requests, 1).total_s / self.requests


def calibrated_model(
    declared: Sequence[Phase],
    after: Sequence[Phase],
    costs: Costs,
    *,
    capacities: Mapping[str, int],
    pool_size: int,
    children_hold: Resource = "process",
    residual_on: Resource = "wait",
) -> CalibratedModel:
    """The scenario's model from its declared phases and its costs at c=1 (both in the
    report's units).

    CPU work is set to what was measured (``calibrated_phases``). When CPU is most of a
    request's time, how long a request took at c=1 says how much of a core it got: the
    other programs' load is fitted to it (it moves faster than a probe before the run can
    follow); otherwise, or when the scenario says its unexplained time is a start-up held on
    ``residual_on``, the probe's figure stands. Time the phases still do not explain waits
    holding ``residual_on``.
    """
    model = CalibratedModel(
        calibrated_phases(declared, costs, children_hold),
        tuple(after),
        {**capacities, "client": 1, "upstream": 1},
        pool_size,
        costs.cores,
        costs.background,
        costs.requests,
        costs.limit,
    )
    cpu_s = sum(p.seconds for p in (*model.phases, *model.after) if p.cpu is not Cpu.NONE)
    if residual_on == "wait" and cpu_s >= _CPU_BOUND * costs.wall_s:
        model = replace(model, background=_fit_background(model, costs.wall_s))

    def at_c1(phases: Sequence[Phase]) -> float:
        return replace(model, phases=tuple(phases)).latency_c1()

    extra = residual(model.phases, costs, at_c1, residual_on)
    return replace(model, phases=(*extra, *model.phases))


def _fit_background(model: CalibratedModel, wall_s: float) -> float:
    """The background load at which the model's c=1 latency is ``wall_s`` (bisection)."""
    low, high = 0.0, _MAX_BACKGROUND
    if replace(model, background=low).latency_c1() >= wall_s:
        return low
    if replace(model, background=high).latency_c1() <= wall_s:
        return high
    for _ in range(30):
        middle = (low + high) / 2
        if replace(model, background=middle).latency_c1() < wall_s:
            low = middle
        else:
            high = middle
    return (low + high) / 2
