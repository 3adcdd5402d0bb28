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
from loopsight.model._phases import Phase

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

    @property
    def loop_blocked_share(self) -> float:
        """Share of the run during which a phase held the event loop."""
        return self.loop_busy_s / self.total_s if self.total_s > 0 else 0.0

    @property
    def mean_latency(self) -> float:
        """Mean time from send to response over all requests."""
        return sum(self.latencies) / len(self.latencies) if self.latencies else 0.0


def _with_loop_edges(phases: Sequence[Phase], loop_cost_s: float = 0.0) -> tuple[Phase, ...]:
    """Add the loop time a request needs on arrival (``loop_cost_s``: parse, route, start the
    handler) and the instant it needs to be answered, and merge adjacent loop holds.

    Adjacent loop phases are one hold: with no ``await`` between them, nothing else runs. The
    answer is written in the same loop step as a final loop phase, so it needs no extra turn.
    """
    steps: list[Phase] = []
    for phase in (Phase("loop", loop_cost_s), *phases, Phase("loop", 0.0)):
        if phase.resource == "loop" and steps and steps[-1].resource == "loop":
            steps[-1] = Phase("loop", steps[-1].seconds + phase.seconds)
        else:
            steps.append(phase)
    return tuple(steps)


class _Simulation:
    def __init__(
        self,
        phases: Sequence[Phase],
        n: int,
        capacity: Mapping[str, int],
        loop_cost_s: float,
        dispatch_s: float = 0.0,
    ) -> None:
        self.now = 0.0
        self.dispatch_s = dispatch_s
        self.n = n
        self.steps = _with_loop_edges(phases, loop_cost_s)
        self._events: list[tuple[float, int, _Callback]] = []
        self._seq = itertools.count()
        self._capacity = {**capacity, "loop": 1}
        self._busy = dict.fromkeys(self._capacity, 0)
        self._queues: dict[str, deque[_Callback]] = {r: deque() for r in self._capacity}
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

        def done() -> None:
            self.latencies.append(self.now - sent)
            self.last_done = self.now
            if on_first_done is not None:
                on_first_done()
            self.client()

        self._step(0, done)

    def _step(self, index: int, done: _Callback) -> None:
        if index == len(self.steps):
            done()
            return
        phase = self.steps[index]

        def proceed() -> None:
            self._step(index + 1, done)

        if phase.resource == "wait":
            self.at(self.now + phase.seconds, proceed)
            return
        resource = phase.resource

        def release() -> None:
            if resource == "loop":
                self._release(resource)
                proceed()
            else:
                # The finished request's own continuation runs before the loop wakes the
                # next waiter for the token (anyio releases it as the awaiting task resumes).
                proceed()
                self._release(resource)

        def granted() -> None:
            if resource == "loop":
                self.loop_busy_s += phase.seconds
            self.at(self.now + phase.seconds, release)

        if resource == "pool" and self.dispatch_s > 0:
            # With the token in hand, the loop must still hand the call to a worker thread.
            def dispatched() -> None:
                self._release("loop")
                granted()

            def dispatch() -> None:
                self.loop_busy_s += self.dispatch_s
                self.at(self.now + self.dispatch_s, dispatched)

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
) -> Prediction:
    """Predict total time and requests per second for ``n`` requests over ``c`` connections.

    ``loop_cost_s`` is the event-loop time every request costs the server on top of its phases
    (HTTP parsing, routing, serialising the answer); 0 gives the textbook figures.
    ``capacities`` names further resources and how many requests may hold each at once
    (``{"cpu": 2}`` for CPU-bound work outside the GIL on two cores, ``{"db": 20}`` for a
    connection pool); ``pool_size`` is the thread pool's. ``dispatch_s`` is the loop time it
    takes to hand a thread-pool phase to a worker once its token is granted: serial work on
    the critical path of every wave.
    """
    if n <= 0 or c <= 0:
        raise LoopsightError(f"n and c must be positive (got n={n}, c={c})")
    capacity = {**(capacities or {}), "pool": pool_size}
    for name, size in capacity.items():
        if size <= 0:
            raise LoopsightError(f"resource {name!r} needs at least one token (got {size})")
    for phase in phases:
        if phase.resource not in ("loop", "wait") and phase.resource not in capacity:
            raise LoopsightError(f"phase on {phase.resource!r} but no capacity given for it")
    if loop_cost_s < 0 or dispatch_s < 0 or any(phase.seconds < 0 for phase in phases):
        raise LoopsightError("phase durations must not be negative")
    sim = _Simulation(phases, n, capacity, loop_cost_s, dispatch_s)
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
    return Prediction(total, rps, tuple(sim.latencies), sim.loop_busy_s)
