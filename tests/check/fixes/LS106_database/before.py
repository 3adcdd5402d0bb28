"""LS106: a sync database call in a coroutine runs in a thread (unsafe)."""

import sqlite3

from fastapi import FastAPI

app = FastAPI()


@app.get("/items")
async def items(request):
    await request.body()
    conn = sqlite3.connect("app.db")  # per request, on purpose
    return conn
