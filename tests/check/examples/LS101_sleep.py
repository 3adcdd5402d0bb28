"""LS101: sleeps on the loop, direct and through helpers (the seed's case 2)."""

import asyncio
import time
from time import sleep as nap

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool

app = FastAPI()


def sync_io_heavy():
    time.sleep(3)  # LS101 [route: GET /case2]
    return {"message": "Hello World"}


def outer_helper():
    return sync_io_heavy()


@app.get("/case1")
def case1():
    sync_io_heavy()  # OK
    time.sleep(1)  # OK


@app.get("/case2")
async def case2():
    sync_io_heavy()  # OK: reported at the blocking call
    sync_io_heavy()  # OK: the same site, reported once
    return {"message": "Hello World"}


@app.get("/case3")
async def case3():
    await asyncio.sleep(3)  # OK


@app.get("/case4")
async def case4():
    await run_in_threadpool(sync_io_heavy)  # OK
    await asyncio.to_thread(outer_helper)  # OK
    await run_in_threadpool(lambda: sync_io_heavy())  # OK


async def deep():
    outer_helper()  # OK: reported at the blocking call
    nap(0.1)  # LS101


async def direct():
    time.sleep(1)  # LS101 [async_function]


@app.api_route("/both", methods=["GET", "POST"])
async def both():
    sync_io_heavy()  # OK: reported at the blocking call


@app.websocket("/ws")
async def ws(websocket):
    await websocket.accept()
    outer_helper()  # OK: reported at the blocking call
