"""A slow upstream service for the lab's external-call routes: ``GET /slow`` answers after one
seed-second, ``scaled(1.0)``, without blocking its own loop.

Serve it with ``uvicorn loopsight.lab.upstream:app`` and give its base URL to the lab app as
``LOOPSIGHT_LAB_UPSTREAM``. Reads ``LOOPSIGHT_LAB_SCALE`` like the lab app.
"""

from __future__ import annotations

import asyncio

from fastapi import FastAPI

from loopsight.lab._scale import scaled

__all__ = ["app"]

app = FastAPI(title="loopsight lab upstream", openapi_url=None)


@app.get("/slow")
async def slow() -> dict[str, float]:
    """Wait one seed-second, then say how long that was."""
    seconds = scaled(1.0)
    await asyncio.sleep(seconds)
    return {"slept_s": seconds}
