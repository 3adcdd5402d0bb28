"""Background-task monitor: Starlette's ``BackgroundTask`` counted, timed, failures recorded.

``install()`` wraps ``BackgroundTask.__call__`` once per process (FastAPI's background tasks are
Starlette's). A stall a task causes is attributed to ``background <name>``, not to the route
that scheduled it: the stall sampler finds :meth:`BackgroundMonitor.run`'s frame, and its
``name`` local (declared with ``mark_background_frame``), on the stalled stack (see
:mod:`loopsight.runtime.registry`).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from loopsight.runtime.registry import mark_background_frame
from loopsight.runtime.stats import REQUEST_BUCKETS, CounterSet, HistogramSet

__all__ = ["BackgroundFailure", "BackgroundMonitor"]

_Call = Callable[[Any], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class BackgroundFailure:
    """A background task that raised: when (Unix time), which, and the exception's repr."""

    at: float
    name: str
    error: str


def task_name(func: object) -> str:
    """``module.qualname`` of a background callable (partials and callables included)."""
    inner = getattr(func, "func", func)
    module = getattr(inner, "__module__", "") or ""
    name = getattr(inner, "__qualname__", None) or type(inner).__qualname__
    return f"{module}.{name}" if module else str(name)


class BackgroundMonitor:
    """Counts and times background tasks; one instance per :class:`~loopsight.runtime.Runtime`."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter):
        self.clock = clock
        self.outcomes = CounterSet(max_series=200)
        self.durations = HistogramSet(REQUEST_BUCKETS, max_series=200)
        self.failures: deque[BackgroundFailure] = deque(maxlen=100)
        self.running = 0
        self._original: _Call | None = None

    def install(self) -> bool:
        """Wrap ``starlette.background.BackgroundTask.__call__``; False without Starlette."""
        if self._original is not None:
            return True
        try:
            from starlette.background import BackgroundTask
        except ImportError:
            return False
        original: _Call = BackgroundTask.__call__
        monitor = self

        async def __call__(task: Any) -> None:
            await monitor.run(task, original)

        __call__.__loopsight_original__ = original  # type: ignore[attr-defined]
        BackgroundTask.__call__ = __call__  # type: ignore[method-assign, assignment]
        self._original = original
        return True

    def uninstall(self) -> None:
        """Restore Starlette's own ``BackgroundTask.__call__``."""
        if self._original is None:
            return
        from starlette.background import BackgroundTask

        BackgroundTask.__call__ = self._original  # type: ignore[method-assign, assignment]
        self._original = None

    async def run(self, task: Any, original: _Call) -> None:
        """Run one background task under observation."""
        name = task_name(getattr(task, "func", task))
        self.running += 1
        start = self.clock()
        outcome = "failed"
        try:
            await original(task)
            outcome = "ok"
        except BaseException as exc:
            self.failures.append(BackgroundFailure(time.time(), name, repr(exc)[:300]))
            raise
        finally:
            self.running -= 1
            self.outcomes.add((name, outcome))
            self.durations.observe((name,), self.clock() - start)


mark_background_frame(BackgroundMonitor.run, name="name")
