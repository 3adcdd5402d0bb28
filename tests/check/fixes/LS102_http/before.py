"""LS102 in a FastAPI app: `await run_in_threadpool(requests.get, ...)` (unsafe)."""

import requests
from fastapi import FastAPI

app = FastAPI()


@app.get("/proxy")
async def proxy(request):
    body = await request.body()
    # forward to the upstream
    reply = requests.post("https://upstream.example", data=body, timeout=5)
    return requests.get("https://upstream.example/status").json()  # then ask how it went
