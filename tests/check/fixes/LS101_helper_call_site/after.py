"""LS101 via a sync helper: the route's call of the helper is wrapped (unsafe); the helper,
which sync code also uses, is left alone."""

import time

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool

app = FastAPI()


def sync_io_heavy(seconds):
    time.sleep(seconds)
    return {"message": "Hello World"}


def batch():
    return sync_io_heavy(1)  # a sync caller: unchanged


@app.get("/case2")
async def case2(client):
    await client.ping()
    result = await run_in_threadpool(sync_io_heavy, 3)  # blocks the loop
    return result
