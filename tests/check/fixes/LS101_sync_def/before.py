"""LS101: an async route and an async dependency that await nothing become `def` (safe)."""

import time

from fastapi import Depends, FastAPI

app = FastAPI()


async def settings():  # dependency
    time.sleep(0.1)  # pretend to read a slow source
    return {"debug": False}


@app.get("/report")
async def report(config=Depends(settings)):  # the route
    # build the report
    time.sleep(2)
    return {"ok": True, **config}
