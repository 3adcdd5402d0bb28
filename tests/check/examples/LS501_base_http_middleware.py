from time import time

from fastapi import FastAPI, Request
from starlette.middleware.base import BaseHTTPMiddleware

app = FastAPI()


@app.middleware("http")  # LS501 [middleware]
async def add_process_time_header(request: Request, call_next):
    start_time = time()  # OK
    response = await call_next(request)
    response.headers["X-Process-Time"] = str(time() - start_time)
    return response


class TimingMiddleware(BaseHTTPMiddleware):  # LS501 [middleware]
    async def dispatch(self, request, call_next):
        return await call_next(request)


class PureASGI:  # OK
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        await self.app(scope, receive, send)


app.add_middleware(TimingMiddleware)
