"""Queueing model: a request's phases on the loop, the thread pool or free waiting, simulated
under a closed-loop client to predict total time and requests per second."""

from __future__ import annotations

from loopsight.model._phases import Phase, Resource, hold, loop, pool, wait
from loopsight.model._simulate import DEFAULT_POOL_SIZE, OpenMode, Prediction, predict

__all__ = [
    "DEFAULT_POOL_SIZE",
    "OpenMode",
    "Phase",
    "Prediction",
    "Resource",
    "hold",
    "loop",
    "pool",
    "predict",
    "wait",
]
