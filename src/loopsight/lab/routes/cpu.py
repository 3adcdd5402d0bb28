"""Seed 002's CPU-bound patterns: one seed-second of pure-Python work run inline, in a thread,
in a shared process pool, through a per-request ``multiprocessing.Pool`` and through a
per-request ``ThreadPoolExecutor``.

The work is ``cpu_work(n)`` (``loopsight.lab._cpu``), ``n`` fitted once at start-up so that it
takes ``scaled(1.0)`` seconds here, and passed to every worker so a child process does the same.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import multiprocessing
import os
from collections.abc import AsyncIterator
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import Pool

import anyio.to_thread
from fastapi import APIRouter, FastAPI, Request

from loopsight.lab._cpu import cpu_work, size_for
from loopsight.lab._scale import scaled

__all__ = ["lifespan", "router"]

router = APIRouter(prefix="/cpu", tags=["cpu"])


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Size the work to one seed-second and share a warm process pool for the app's life.

    Child processes start from a fork server (Python 3.14's default on Linux) while the app
    runs: a child forked from the server itself inherits uvicorn's SIGTERM handler, so the
    ``terminate()`` that ends ``with Pool()`` can wait forever for a worker that ignores it.
    """
    app.state.cpu_size = await anyio.to_thread.run_sync(size_for, scaled(1.0), cpu_work)
    previous = multiprocessing.get_start_method(allow_none=True)
    multiprocessing.set_start_method("forkserver", force=True)
    workers = os.cpu_count() or 1
    try:
        with ProcessPoolExecutor(max_workers=workers) as process_pool:
            loop = asyncio.get_running_loop()
            # Start every worker now, so the first requests do not pay for it.
            await asyncio.gather(
                *(loop.run_in_executor(process_pool, cpu_work, 1) for _ in range(workers))
            )
            app.state.process_pool = process_pool
            yield
    finally:
        multiprocessing.set_start_method(previous, force=True)


# Bad: the work runs on the event loop; nothing else runs for a seed-second.
@router.get("/inline")
async def cpu_inline(request: Request) -> dict[str, int]:
    size: int = request.app.state.cpu_size
    return {"result": cpu_work(size)}


# Ugly: off the loop, but the thread holds the GIL, so the loop and other threads crawl.
@router.get("/thread-executor")
async def cpu_thread_executor(request: Request) -> dict[str, int]:
    size: int = request.app.state.cpu_size
    loop = asyncio.get_running_loop()
    result = await loop.run_in_executor(None, cpu_work, size)
    return {"result": result}


# Good: a shared pool of worker processes, each with its own interpreter and GIL.
@router.get("/process-pool")
async def cpu_process_pool(request: Request) -> dict[str, int]:
    size: int = request.app.state.cpu_size
    process_pool: ProcessPoolExecutor = request.app.state.process_pool
    loop = asyncio.get_running_loop()
    result = await loop.run_in_executor(process_pool, cpu_work, size)
    return {"result": result}


# Bad: the seed's Solution 3, a new Pool per request and pool.apply waits on the event loop.
@router.get("/pool-apply")
async def cpu_pool_apply(request: Request) -> dict[str, int]:
    size: int = request.app.state.cpu_size
    with Pool() as pool:
        result = pool.apply(cpu_work, (size,))
    return {"result": result}


# Seed 002's step 5: a new thread pool per request; the GIL still serialises the work.
@router.get("/executor-per-request")
async def cpu_executor_per_request(request: Request) -> dict[str, int]:
    size: int = request.app.state.cpu_size
    loop = asyncio.get_running_loop()
    with concurrent.futures.ThreadPoolExecutor() as pool:
        result = await loop.run_in_executor(pool, cpu_work, size)
    return {"result": result}
