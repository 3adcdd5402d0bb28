"""Seed 001's 5-second tasks: a blocking ``def`` route and a non-blocking ``async def`` route."""

from __future__ import annotations

import asyncio
import time

from fastapi import APIRouter

from loopsight.lab._scale import scaled

router = APIRouter(tags=["tasks"])


@router.get("/sync-task")
def sync_task() -> dict[str, str]:
    time.sleep(scaled(5))  # blocking sleep: holds a thread-pool token
    return {"message": "Task done"}


@router.get("/async-task")
async def async_task() -> dict[str, str]:
    await asyncio.sleep(scaled(5))  # non-blocking sleep
    return {"message": "Task done"}
