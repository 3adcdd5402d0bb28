"""Queueing model: a request's phases on the loop, the thread pool, other resources or free
waiting, their CPU work shared over the machine's cores and the GIL, simulated under a
closed-loop client to predict total time and requests per second."""

from __future__ import annotations

from loopsight.model._phases import Cpu, Phase, Resource, cpu, gil, hold, loop, pool, wait
from loopsight.model._simulate import DEFAULT_POOL_SIZE, OpenMode, Prediction, predict

__all__ = [
    "DEFAULT_POOL_SIZE",
    "Cpu",
    "OpenMode",
    "Phase",
    "Prediction",
    "Resource",
    "cpu",
    "gil",
    "hold",
    "loop",
    "pool",
    "predict",
    "wait",
]
