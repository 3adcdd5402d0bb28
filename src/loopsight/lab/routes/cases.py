"""Seed 000's four cases: blocking and non-blocking I/O in sync and async routes.

Written as the article writes them; only the sleeps are scaled (see ``loopsight.lab._scale``).
"""

from __future__ import annotations

import asyncio
import time

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from loopsight.lab._scale import scaled

router = APIRouter(tags=["cases"])


# Synchronous I/O operation
def sync_io_heavy() -> dict[str, str]:
    time.sleep(scaled(3))
    return {"message": "Hello World"}


# Asynchronous I/O operation
async def async_io_heavy() -> dict[str, str]:
    await asyncio.sleep(scaled(3))
    return {"message": "Hello World"}


# Case 1: synchronous route with blocking I/O (runs in the thread pool).
@router.get("/case1")
def case1_sync_route_blocking_io() -> dict[str, str]:
    sync_io_heavy()
    sync_io_heavy()
    return {"message": "Hello World"}


# Case 2: asynchronous route with blocking I/O (blocks the event loop).
@router.get("/case2")
async def case2_async_route_blocking_io() -> dict[str, str]:
    sync_io_heavy()
    sync_io_heavy()
    return {"message": "Hello World"}


# Case 3: asynchronous route with asynchronous I/O.
@router.get("/case3")
async def case3_async_route_async_io() -> dict[str, str]:
    await async_io_heavy()
    await async_io_heavy()
    return {"message": "Hello World"}


# Case 4: asynchronous route, blocking call isolated in the thread pool.
@router.get("/case4")
async def case4_async_route_threadpool() -> dict[str, str]:
    await run_in_threadpool(sync_io_heavy)
    await async_io_heavy()
    return {"message": "Hello World"}
