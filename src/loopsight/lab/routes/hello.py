"""Seed 000's hello routes: the same body as ``def`` and as ``async def``."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["hello"])


# Synchronous route: FastAPI runs it in the thread pool.
@router.get("/sync")
def read_sync() -> dict[str, str]:
    return {"message": "Hello World"}


# Asynchronous route: runs on the event loop.
@router.get("/async")
async def read_async() -> dict[str, str]:
    return {"message": "Hello World"}
