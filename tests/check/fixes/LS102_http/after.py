"""LS102 in a FastAPI app: `await run_in_threadpool(requests.get, ...)` (unsafe)."""

import requests
from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool

app = FastAPI()


@app.get("/proxy")
async def proxy(request):
    body = await request.body()
    # forward to the upstream
    reply = await run_in_threadpool(requests.post, "https://upstream.example", data=body, timeout=5)
    return (await run_in_threadpool(requests.get, "https://upstream.example/status")).json()  # then ask how it went
