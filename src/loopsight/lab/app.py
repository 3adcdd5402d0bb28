"""The lab's reference FastAPI app: every route of seeds 000, 001 and 002, time scaled at
start-up.

Serve it with ``uvicorn loopsight.lab.app:app``; ``loopsight lab`` does that for you.

Environment, read at start-up: ``LOOPSIGHT_LAB_SCALE`` (``loopsight.lab._scale``),
``LOOPSIGHT_LAB_DB`` (``loopsight.lab._db``), ``LOOPSIGHT_LAB_UPSTREAM``
(``loopsight.lab.routes.external``) and ``LOOPSIGHT_LAB_THREADS``
(``loopsight.lab.routes.pool``). With ``LOOPSIGHT_LAB_RUNTIME_TOKEN`` set, the app runs under
loopsight's runtime watchdog (threshold ``LOOPSIGHT_LAB_STALL_MS``), its stalls and trace
endpoints behind that token: how ``loopsight lab`` joins each scenario with its stalls.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
from collections.abc import AsyncIterator

from fastapi import FastAPI

from loopsight.lab import _db
from loopsight.lab._heartbeat import STATS_PATH, Heartbeat
from loopsight.lab._scale import SCALE
from loopsight.lab.routes import (
    awaiting,
    background,
    cases,
    cpu,
    db,
    external,
    hello,
    middleware,
    pool,
    tasks,
)

__all__ = ["STATS_PATH", "app"]

heartbeat = Heartbeat()


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with contextlib.AsyncExitStack() as stack:
        # Before the heartbeat starts, so start-up work never counts as a blocked loop.
        for theme_lifespan in (
            pool.lifespan,
            _db.lifespan,
            external.lifespan,
            cpu.lifespan,
            background.lifespan,
        ):
            await stack.enter_async_context(theme_lifespan(app))
        # Start-up objects (FastAPI, pydantic, SQLAlchemy, ...) out of the collector's sight:
        # otherwise a full collection under load holds the loop for tens of milliseconds,
        # a pause none of the seeds' patterns causes (the usual advice for servers).
        gc.collect()
        gc.freeze()
        beating = asyncio.create_task(heartbeat.run())
        try:
            yield
        finally:
            beating.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beating


app = FastAPI(title="loopsight lab", lifespan=lifespan)
app.include_router(hello.router)
app.include_router(cases.router)
app.include_router(tasks.router)
for theme in (db, external, cpu, background, pool, awaiting):
    app.include_router(theme.router)
for path, sub_app in middleware.MOUNTS.items():
    app.mount(path, sub_app)


@app.get(STATS_PATH, include_in_schema=False)
async def lab_stats() -> dict[str, float]:
    """How long the loop has been blocked since start-up, and the scale in force."""
    return {**heartbeat.snapshot(), "scale": SCALE}


_runtime_token = os.environ.get("LOOPSIGHT_LAB_RUNTIME_TOKEN")
if _runtime_token:
    from loopsight.runtime import instrument

    app = instrument(
        app,
        threshold_ms=float(os.environ.get("LOOPSIGHT_LAB_STALL_MS", "100")),
        endpoints=("stalls", "trace"),
        token=_runtime_token,
        log_stalls=False,
    )
