"""Seed 001's thread-pool experiment: a ``def`` route that holds a thread for five seed-seconds,
under anyio's default 40 threads or under ``LOOPSIGHT_LAB_THREADS``.

Environment, read at start-up:

``LOOPSIGHT_LAB_THREADS``
    If set, the number of threads anyio's default limiter lends to ``def`` routes, dependencies
    and background tasks (``current_default_thread_limiter().total_tokens``; anyio's default 40).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import AsyncIterator

import anyio.to_thread
from fastapi import APIRouter, FastAPI

from loopsight.lab._scale import scaled

__all__ = ["ENV_VAR", "lifespan", "router"]

ENV_VAR = "LOOPSIGHT_LAB_THREADS"

router = APIRouter(prefix="/pool", tags=["pool"])


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Set the thread limit from ``LOOPSIGHT_LAB_THREADS`` (the limiter is per event loop)."""
    raw = os.environ.get(ENV_VAR, "")
    if raw:
        try:
            threads = int(raw)
        except ValueError:
            raise SystemExit(f"{ENV_VAR}={raw!r} is not a whole number of threads") from None
        if threads < 1:
            raise SystemExit(f"{ENV_VAR}={raw!r} must be at least 1")
        anyio.to_thread.current_default_thread_limiter().total_tokens = threads
    yield


# Seed 001's blocking task: each request holds one thread-pool token for five seed-seconds.
@router.get("/sync-task")
def sync_task() -> dict[str, str]:
    time.sleep(scaled(5))  # blocking sleep
    return {"message": "Task done"}


@router.get("/stats")
async def pool_stats() -> dict[str, int | float]:
    """The default thread limiter's state (async: it reads the loop's own limiter).

    ``total_tokens`` is a float only when unlimited (``math.inf``).
    """
    stats = anyio.to_thread.current_default_thread_limiter().statistics()
    return {
        "borrowed_tokens": stats.borrowed_tokens,
        "total_tokens": stats.total_tokens,
        "tasks_waiting": stats.tasks_waiting,
    }
