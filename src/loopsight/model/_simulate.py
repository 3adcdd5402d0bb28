"""Discrete-event simulation of a closed-loop client against a phase-based server.

The client keeps ``c`` requests in flight until ``n`` have been sent (``open_mode="all"``), or
first sends one probe request alone and opens the ``c`` connections when it completes
(``open_mode="ab"``, what ApacheBench >= 2.4.33 does). Every request also passes through the
event loop for an instant when it arrives and when it is answered, so a request cannot start
or finish while a blocking phase holds the loop. Queues are FIFO; simultaneous events run in
the order they were scheduled.
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from loopsight.errors import LoopsightError
from loopsight.model._phases import Cpu, Phase

__all__ = ["DEFAULT_POOL_SIZE", "OpenMode", "Prediction", "predict"]

DEFAULT_POOL_SIZE = 40
"""anyio's default thread limiter: ``anyio.to_thread.current_default_thread_limiter()``."""

OpenMode = Literal["all", "ab"]

_Callback = Callable[[], None]


@dataclass(frozen=True)
class Prediction:
    """What the model predicts for one closed-loop run."""

    total_s: float
    rps: float
    latencies: tuple[float, ...]
    loop_busy_s: float
    core_busy_s: float = 0.0  # core-seconds of CPU work the phases did
    cores: int | None = None  # the cores the model shared (None: CPU not modelled)

    @property
    def core_share(self) -> float:
        """Share of the cores' capacity over the run that CPU work used."""
        if not self.cores or self.total_s <= 0:
            return 0.0
        return self.core_busy_s / (self.cores * self.total_s)

    @property
    def loop_blocked_share(self) -> float:
        """Share of the run during which a phase held the event loop."""
        return self.loop_busy_s / self.total_s if self.total_s > 0 else 0.0

    @property
    def mean_latency(self) -> float:
        """Mean time from send to response over all requests."""
        return sum(self.latencies) / len(self.latencies) if self.latencies else 0.0


@dataclass(frozen=True)
class _Step:
    """What a request holds (``resource``) and what it does meanwhile: ``parts`` run one after
    the other, each a duration and what kind of work it is."""

    resource: str
    parts: tuple[tuple[float, Cpu], ...]
    answer_at: int | None = None  # the response goes out after this many parts


def _with_loop_edges(
    phases: Sequence[Phase], loop_cost_s: float = 0.0, loop_work: Cpu = Cpu.NONE
) -> tuple[_Step, ...]:
    """Add the loop time a request needs on arrival (``loop_cost_s``: parse, route, start the
    handler) and the instant it needs to be answered, and merge adjacent loop holds.

    Adjacent loop phases are one hold: with no ``await`` between them, nothing else runs. The
    answer is written in the same loop step as a final loop phase, so it needs no extra turn.
    """
    steps: list[_Step] = []
    edges = (Phase("loop", loop_cost_s, loop_work), *phases, Phase("loop", 0.0))
    for phase in edges:
        part = (phase.seconds, phase.cpu)
        if phase.resource == "loop" and steps and steps[-1].resource == "loop":
            steps[-1] = _Step("loop", (*steps[-1].parts, part))
        else:
            steps.append(_Step(phase.resource, (part,)))
    return tuple(steps)


def _answered(
    steps: tuple[_Step, ...], after: Sequence[Phase]
) -> tuple[tuple[_Step, ...], tuple[_Step, ...]]:
    """Mark where the response goes out: at the end of the final loop step, which also runs
    the leading loop phases of the background work (Starlette runs the tasks in the same task
    step right after sending, so nothing else runs between). The rest of ``after`` follows."""
    final = steps[-1]
    rest = list(after)
    parts = list(final.parts)
    while rest and rest[0].resource == "loop":
        phase = rest.pop(0)
        parts.append((phase.seconds, phase.cpu))
    marked = _Step(final.resource, tuple(parts), answer_at=len(final.parts))
    later = tuple(_Step(phase.resource, ((phase.seconds, phase.cpu),)) for phase in rest)
    return (*steps[:-1], marked), later


@dataclass
class _Job:
    remaining: float  # core-seconds still to do
    gil: bool
    done: _Callback


_EPS = 1e-9


class _Cores:
    """Processor sharing on ``cores`` cores, with the GIL as one more serial resource.

    Every running job is a thread that wants a whole core; the cores are shared fairly among
    them, except that all the jobs needing the GIL together get at most one core (the GIL runs
    one thread at a time and switches every few milliseconds, so they share it fairly), and a
    core the GIL leaves idle goes to the others. A job's rate changes whenever a job starts or
    ends, so the next completion is rescheduled each time.
    """

    def __init__(
        self, sim: _Simulation, cores: int, background: float = 0.0, limit: float | None = None
    ) -> None:
        self.sim = sim
        self.cores = cores
        self.background = background  # other runnable threads on these cores, never done
        self.limit = limit
        self.jobs: list[_Job] = []
        self.updated = 0.0
        self.generation = 0
        self.busy_s = 0.0  # core-seconds of work done

    def rates(self) -> tuple[float, float]:
        """The rate (cores) each GIL job and each other job runs at now.

        Threads waiting for the GIL sleep on it: the GIL jobs are one runnable thread
        between them when the cores are shared out. With a ``limit``, all the jobs together
        get at most that many cores (a scheduler that shares the machine by group).
        """
        if not self.jobs:
            return 0.0, 0.0
        k_gil = sum(job.gil for job in self.jobs)
        k_core = len(self.jobs) - k_gil
        others = k_core + self.background
        fair = min(1.0, self.cores / ((1 if k_gil else 0) + others))
        gil_total = min(1.0, max(fair, self.cores - others)) if k_gil else 0.0
        per_core = min(1.0, (self.cores - gil_total) / others) if others else 0.0
        used = gil_total + per_core * k_core
        if self.limit is not None and used > self.limit:
            gil_total, per_core = gil_total * self.limit / used, per_core * self.limit / used
        return (gil_total / k_gil if k_gil else 0.0), per_core

    def start(self, seconds: float, gil: bool, done: _Callback) -> None:
        self._advance()
        self.jobs.append(_Job(seconds, gil, done))
        self._schedule()

    def _advance(self) -> None:
        elapsed = self.sim.now - self.updated
        self.updated = self.sim.now
        if elapsed <= 0 or not self.jobs:
            return
        per_gil, per_core = self.rates()
        for job in self.jobs:
            work = elapsed * (per_gil if job.gil else per_core)
            job.remaining -= work
            self.busy_s += work

    def _schedule(self) -> None:
        self.generation += 1
        if not self.jobs:
            return
        per_gil, per_core = self.rates()
        soonest = min(job.remaining / (per_gil if job.gil else per_core) for job in self.jobs)
        generation = self.generation
        self.sim.at(self.sim.now + max(0.0, soonest), lambda: self._tick(generation))

    def _tick(self, generation: int) -> None:
        if generation != self.generation:
            return  # a job started or ended since: a newer tick is scheduled
        self._advance()
        finished = [job for job in self.jobs if job.remaining <= _EPS]
        if not finished:  # rounding: the job this tick was for is done
            finished = [min(self.jobs, key=lambda job: job.remaining)]
        self.jobs = [job for job in self.jobs if job not in finished]
        self._schedule()
        for job in finished:
            job.done()


class _Simulation:
    def __init__(
        self,
        phases: Sequence[Phase],
        n: int,
        capacity: Mapping[str, int],
        loop_cost_s: float,
        dispatch_s: float = 0.0,
        cores: int | None = None,
        after: Sequence[Phase] = (),
        background: float = 0.0,
        limit: float | None = None,
    ) -> None:
        self.now = 0.0
        # With cores modelled, the loop's own per-request work is Python work on a core.
        self.loop_work = Cpu.NONE if cores is None else Cpu.GIL
        self.dispatch_s = dispatch_s
        self.n = n
        self.steps = _with_loop_edges(phases, loop_cost_s, self.loop_work)
        self.steps, self.after = _answered(self.steps, after)
        self._events: list[tuple[float, int, _Callback]] = []
        self._seq = itertools.count()
        self._capacity = {**capacity, "loop": 1}
        self._busy = dict.fromkeys(self._capacity, 0)
        self._queues: dict[str, deque[_Callback]] = {r: deque() for r in self._capacity}
        self.cores = _Cores(self, cores or 1, background, limit)
        self.issued = 0
        self.latencies: list[float] = []
        self.last_done = 0.0
        self.loop_busy_s = 0.0

    def at(self, when: float, callback: _Callback) -> None:
        heapq.heappush(self._events, (when, next(self._seq), callback))

    def run(self) -> None:
        while self._events:
            self.now, _, callback = heapq.heappop(self._events)
            callback()

    def client(self, on_first_done: _Callback | None = None) -> None:
        """Send one request, and another each time one completes, until ``n`` are sent."""
        if self.issued >= self.n:
            return
        self.issued += 1
        sent = self.now

        def answered() -> None:
            self.latencies.append(self.now - sent)
            self.last_done = self.now
            if on_first_done is not None:
                on_first_done()

        def returned() -> None:
            # What is left of the background work runs on its own: the connection's next
            # request is read once the response is complete, not when the ASGI call returns.
            self._step(self.after, 0, lambda: None)
            self.client()

        self._step(self.steps, 0, returned, answered)

    def _work(self, parts: Sequence[tuple[float, Cpu]], done: _Callback) -> None:
        """Do ``parts`` one after the other: wait out a plain part, compute a CPU part."""
        if not parts:
            done()
            return
        (seconds, work), rest = parts[0], parts[1:]

        def next_part() -> None:
            self._work(rest, done)

        if work is Cpu.NONE:
            self.at(self.now + seconds, next_part)
        else:
            self.cores.start(seconds, work is Cpu.GIL, next_part)

    def _step(
        self,
        steps: Sequence[_Step],
        index: int,
        done: _Callback,
        answered: _Callback = lambda: None,
    ) -> None:
        if index == len(steps):
            done()
            return
        step = steps[index]

        def proceed() -> None:
            self._step(steps, index + 1, done, answered)

        run_parts: Callable[[Sequence[tuple[float, Cpu]], _Callback], None] = self._work
        if step.answer_at is not None:
            k = step.answer_at

            def answer_then(parts: Sequence[tuple[float, Cpu]], then: _Callback) -> None:
                def answer() -> None:
                    answered()
                    self._work(parts[k:], then)

                self._work(parts[:k], answer)

            run_parts = answer_then

        if step.resource == "wait":
            run_parts(step.parts, proceed)
            return
        resource = step.resource

        def granted() -> None:
            started = self.now

            def release() -> None:
                if resource == "loop":
                    self.loop_busy_s += self.now - started
                    self._release(resource)
                    proceed()
                else:
                    # The finished request's own continuation runs before the loop wakes the
                    # next waiter for the token (anyio releases it as the awaiting task resumes).
                    proceed()
                    self._release(resource)

            run_parts(step.parts, release)

        if resource == "pool" and self.dispatch_s > 0:
            # With the token in hand, the loop must still hand the call to a worker thread.
            def dispatched() -> None:
                self._release("loop")
                granted()

            def dispatch() -> None:
                started = self.now

                def handed() -> None:
                    self.loop_busy_s += self.now - started
                    dispatched()

                self._work(((self.dispatch_s, self.loop_work),), handed)

            self._acquire("pool", lambda: self._acquire("loop", dispatch))
            return
        self._acquire(resource, granted)

    def _acquire(self, resource: str, granted: _Callback) -> None:
        if self._busy[resource] < self._capacity[resource]:
            self._busy[resource] += 1
            granted()
        else:
            self._queues[resource].append(granted)

    def _release(self, resource: str) -> None:
        queue = self._queues[resource]
        if queue:
            queue.popleft()()  # the token passes straight to the next waiter
        else:
            self._busy[resource] -= 1


def predict(
    phases: Sequence[Phase],
    *,
    n: int,
    c: int,
    open_mode: OpenMode = "all",
    pool_size: int = DEFAULT_POOL_SIZE,
    loop_cost_s: float = 0.0,
    capacities: Mapping[str, int] | None = None,
    dispatch_s: float = 0.0,
    cores: int | None = None,
    after: Sequence[Phase] = (),
    background: float = 0.0,
    limit: float | None = None,
) -> Prediction:
    """Predict total time and requests per second for ``n`` requests over ``c`` connections.

    ``loop_cost_s`` is the event-loop time every request costs the server on top of its phases
    (HTTP parsing, routing, serialising the answer); 0 gives the textbook figures.
    ``capacities`` names further resources and how many requests may hold each at once
    (``{"cpu": 2}`` for CPU-bound work outside the GIL on two cores, ``{"db": 20}`` for a
    connection pool); ``pool_size`` is the thread pool's. ``dispatch_s`` is the loop time it
    takes to hand a thread-pool phase to a worker once its token is granted: serial work on
    the critical path of every wave.

    ``cores`` is how many cores the server's machine lends the run: CPU phases
    (``Cpu.CORE``, ``Cpu.GIL``) share them fairly, the GIL ones one core among them, and the
    loop's per-request costs (``loop_cost_s``, ``dispatch_s``) become Python work on a core.
    Without it, no phase may be CPU work and the loop's costs are plain holds. ``background``
    is how many other threads keep those cores busy meanwhile (other programs on the machine);
    ``limit`` caps the cores all the run's work gets together (when the scheduler shares the
    machine between groups of processes, not threads).

    ``after`` is work a request leaves behind once it is answered (a background task): it
    starts as the response goes out and holds what its phases hold; its leading loop phases
    run in the step that sent the answer (Starlette runs the tasks right after sending), the
    rest on its own while the connection sends its next request.
    """
    if n <= 0 or c <= 0:
        raise LoopsightError(f"n and c must be positive (got n={n}, c={c})")
    capacity = {**(capacities or {}), "pool": pool_size}
    every = (*phases, *after)
    for name, size in capacity.items():
        if size <= 0:
            raise LoopsightError(f"resource {name!r} needs at least one token (got {size})")
    for phase in every:
        if phase.resource not in ("loop", "wait") and phase.resource not in capacity:
            raise LoopsightError(f"phase on {phase.resource!r} but no capacity given for it")
    if cores is not None and cores <= 0:
        raise LoopsightError(f"cores must be at least 1 (got {cores})")
    if background < 0:
        raise LoopsightError(f"background load must not be negative (got {background})")
    if limit is not None and limit <= 0:
        raise LoopsightError(f"limit must be a positive number of cores (got {limit})")
    if cores is None and any(phase.cpu is not Cpu.NONE for phase in every):
        raise LoopsightError("a phase does CPU work but no cores were given")
    if loop_cost_s < 0 or dispatch_s < 0 or any(phase.seconds < 0 for phase in every):
        raise LoopsightError("phase durations must not be negative")
    sim = _Simulation(
        phases,
        n,
        capacity,
        loop_cost_s,
        dispatch_s,
        cores,
        after=after,
        background=background,
        limit=limit,
    )
    if open_mode == "ab":
        opened = False

        def open_rest() -> None:
            nonlocal opened
            if not opened:
                opened = True
                for _ in range(c - 1):
                    sim.client()

        sim.client(on_first_done=open_rest)
    else:
        for _ in range(c):
            sim.client()
    sim.run()
    total = sim.last_done
    rps = n / total if total > 0 else float("inf")
    return Prediction(total, rps, tuple(sim.latencies), sim.loop_busy_s, sim.cores.busy_s, cores)
