"""Seed 002's middleware patterns: the same hello route with no middleware, behind a pure-ASGI
timing middleware, and behind the seed's ``@app.middleware("http")`` (``BaseHTTPMiddleware``).

Three sub-apps, mounted by ``loopsight.lab.app`` under ``/mw/none``, ``/mw/asgi`` and
``/mw/base``; each serves ``GET /hello``. Their routes do not appear in the lab app's OpenAPI.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from time import time

from fastapi import FastAPI, Request, Response
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["MOUNTS", "ProcessTimeMiddleware", "asgi_app", "base_app", "none_app"]


def _hello_app() -> FastAPI:
    # A sub-app of its own, so its middleware wraps only its own route.
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/hello")
    async def hello() -> dict[str, str]:
        return {"message": "Hello World"}

    return app


class ProcessTimeMiddleware:
    """Adds ``X-Process-Time`` (seconds, as the seed does) to every HTTP response: pure ASGI."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start_time = time()

        async def send_with_time(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.append("X-Process-Time", str(time() - start_time))
            await send(message)

        await self.app(scope, receive, send_with_time)


none_app = _hello_app()
"""No middleware: the baseline."""

asgi_app = _hello_app()
"""Behind ``ProcessTimeMiddleware`` (good: pure ASGI, no extra task or stream per request)."""
asgi_app.add_middleware(ProcessTimeMiddleware)

base_app = _hello_app()
"""Behind the seed's ``@app.middleware("http")`` (a ``BaseHTTPMiddleware``: costly)."""


@base_app.middleware("http")
async def add_process_time_header(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    start_time = time()
    response = await call_next(request)
    process_time = time() - start_time
    response.headers["X-Process-Time"] = str(process_time)
    return response


MOUNTS: dict[str, FastAPI] = {"/mw/none": none_app, "/mw/asgi": asgi_app, "/mw/base": base_app}
"""Where ``loopsight.lab.app`` mounts each sub-app."""
