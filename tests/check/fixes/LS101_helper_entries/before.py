"""LS101 in a sync helper reached from three routes: one finding at the sleep; each route's
call of the helper is wrapped (unsafe), both calls where a route makes two."""

import time

from fastapi import FastAPI

app = FastAPI()


def heavy(n):
    time.sleep(n)
    return n


@app.get("/a")
async def a(client):
    await client.ping()
    return heavy(1)


@app.get("/b")
async def b(client):
    await client.ping()
    x = heavy(2)
    return x


@app.get("/c")
async def c(client):
    await client.ping()
    heavy(1)
    heavy(2)
    return 1
