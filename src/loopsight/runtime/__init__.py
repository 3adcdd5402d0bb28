"""Runtime stall watchdog: which request blocked the event loop, for how long, on which line.

``instrument(app)`` adds :class:`LoopsightMiddleware`; the process-wide :class:`Runtime` runs
the heartbeat and the stall sampler (:mod:`~loopsight.runtime.watchdog`), the thread-pool and
background-task monitors, and feeds the exporters in :mod:`loopsight.runtime.exporters`.
"""

from __future__ import annotations

from loopsight.runtime.core import Runtime, get_runtime, reset_runtime
from loopsight.runtime.instrument import ENDPOINTS, instrument
from loopsight.runtime.middleware import LoopsightMiddleware
from loopsight.runtime.records import Activity, Culprit, Stall
from loopsight.runtime.snapshot import Snapshot

__all__ = [
    "ENDPOINTS",
    "Activity",
    "Culprit",
    "LoopsightMiddleware",
    "Runtime",
    "Snapshot",
    "Stall",
    "get_runtime",
    "instrument",
    "reset_runtime",
]
