"""LS501: a timing middleware becomes a pure ASGI class (unsafe)."""

import time

from fastapi import FastAPI, Request
from starlette.middleware.base import BaseHTTPMiddleware

app = FastAPI()


@app.get("/")
async def home():
    return {"ok": True}


# how long each request takes
@app.middleware("http")  # measured by the proxy too
async def add_process_time_header(request: Request, call_next):
    start_time = time.perf_counter()  # before the app runs
    response = await call_next(request)
    response.headers["X-Process-Time"] = str(time.perf_counter() - start_time)
    return response


class ServerHeader(BaseHTTPMiddleware):  # brand every response
    """Adds the server's name."""

    async def dispatch(self, request, call_next):
        response = await call_next(request)
        response.headers["Server"] = "loopsight-demo"
        return response


app.add_middleware(ServerHeader)
