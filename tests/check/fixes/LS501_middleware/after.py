"""LS501: a timing middleware becomes a pure ASGI class (unsafe)."""

import time

from fastapi import FastAPI, Request
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.datastructures import MutableHeaders

app = FastAPI()


@app.get("/")
async def home():
    return {"ok": True}


# how long each request takes
class AddProcessTimeHeader:
    """Pure ASGI form of `add_process_time_header`."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start_time = time.perf_counter()  # before the app runs

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Process-Time"] = str(time.perf_counter() - start_time)
            await send(message)

        await self.app(scope, receive, send_with_headers)


app.add_middleware(AddProcessTimeHeader)  # measured by the proxy too


class ServerHeader:  # brand every response
    """Adds the server's name."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Server"] = "loopsight-demo"
            await send(message)

        await self.app(scope, receive, send_with_headers)


app.add_middleware(ServerHeader)
