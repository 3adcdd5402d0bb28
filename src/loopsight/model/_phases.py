"""What a request does on the server, as the model sees it: phases on resources, and whether
each phase's time is CPU work that needs one of the machine's cores (and the GIL)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["Cpu", "Phase", "Resource", "cpu", "gil", "hold", "loop", "pool", "wait"]

Resource = str
"""``"loop"``: holds the event loop (serial, capacity 1); ``"pool"``: holds a thread-pool token;
``"wait"``: waits without holding anything (``await asyncio.sleep``, async I/O); any other
name is a resource whose capacity the prediction is given (database connections, a process
pool's workers, the load driver's own loop)."""


class Cpu(enum.Enum):
    """What a phase's seconds are: waiting, or CPU work on one of the machine's cores."""

    NONE = "none"
    """Waiting (a sleep, I/O, a lock): the phase takes its seconds whatever else runs."""
    CORE = "core"
    """CPU work outside the server's GIL (C code that releases it, another process): its
    seconds are core-seconds, shared fairly with everything else that runs."""
    GIL = "gil"
    """Python-level work in the server's process: core-seconds that also need the GIL, which
    one thread holds at a time."""


@dataclass(frozen=True)
class Phase:
    """One step of a request: hold ``resource`` for ``seconds`` (of CPU work when ``cpu`` says
    so; then the step lasts longer while cores or the GIL are shared)."""

    resource: Resource
    seconds: float
    cpu: Cpu = Cpu.NONE

    def scaled(self, factor: float) -> Phase:
        """The same phase with its duration multiplied by ``factor``."""
        return Phase(self.resource, self.seconds * factor, self.cpu)


def loop(seconds: float, work: Cpu = Cpu.NONE) -> Phase:
    """A phase that blocks the event loop (sync code called from ``async def``); ``work`` says
    whether it computes (``Cpu.GIL``) or waits (a ``time.sleep``, a sync driver)."""
    return Phase("loop", seconds, work)


def pool(seconds: float, work: Cpu = Cpu.NONE) -> Phase:
    """A phase that runs in the thread pool (a ``def`` route, ``run_in_threadpool``)."""
    return Phase("pool", seconds, work)


def hold(resource: str, seconds: float, work: Cpu = Cpu.NONE) -> Phase:
    """A phase that holds one unit of a named resource (``"db"``, ``"process"``, ...)."""
    return Phase(resource, seconds, work)


def wait(seconds: float) -> Phase:
    """A phase that waits without blocking anything (``await asyncio.sleep``)."""
    return Phase("wait", seconds)


def cpu(seconds: float, resource: Resource = "wait") -> Phase:
    """CPU work outside the GIL (SQLite's C code, a worker process), holding ``resource``."""
    return Phase(resource, seconds, Cpu.CORE)


def gil(seconds: float, resource: Resource = "loop") -> Phase:
    """Python-level work in the server, holding ``resource`` (the loop unless said)."""
    return Phase(resource, seconds, Cpu.GIL)
