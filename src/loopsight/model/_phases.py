"""What a request does on the server, as the model sees it: phases on resources."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Phase", "Resource", "hold", "loop", "pool", "wait"]

Resource = str
"""``"loop"``: holds the event loop (serial, capacity 1); ``"pool"``: holds a thread-pool token;
``"wait"``: waits without holding anything (``await asyncio.sleep``, async I/O); any other
name is a resource whose capacity the prediction is given (CPU cores, database connections)."""


@dataclass(frozen=True)
class Phase:
    """One step of a request: hold ``resource`` for ``seconds``."""

    resource: Resource
    seconds: float

    def scaled(self, factor: float) -> Phase:
        """The same phase with its duration multiplied by ``factor``."""
        return Phase(self.resource, self.seconds * factor)


def loop(seconds: float) -> Phase:
    """A phase that blocks the event loop (sync code called from ``async def``)."""
    return Phase("loop", seconds)


def pool(seconds: float) -> Phase:
    """A phase that runs in the thread pool (a ``def`` route, ``run_in_threadpool``)."""
    return Phase("pool", seconds)


def hold(resource: str, seconds: float) -> Phase:
    """A phase that holds one unit of a named resource (``"cpu"``, ``"db"``, ...)."""
    return Phase(resource, seconds)


def wait(seconds: float) -> Phase:
    """A phase that waits without blocking anything (``await asyncio.sleep``)."""
    return Phase("wait", seconds)
