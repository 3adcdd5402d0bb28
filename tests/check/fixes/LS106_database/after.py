"""LS106: a sync database call in a coroutine runs in a thread (unsafe)."""

import sqlite3

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool

app = FastAPI()


@app.get("/items")
async def items(request):
    await request.body()
    conn = await run_in_threadpool(sqlite3.connect, "app.db")  # per request, on purpose
    return conn
