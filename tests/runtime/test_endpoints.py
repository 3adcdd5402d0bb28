"""The token-protected endpoints: the token stays out of URLs and logs, and loopsight's own
rendering stays out of the thread pool it reports."""

from __future__ import annotations

import http.cookiejar
import urllib.request
from pathlib import Path
from typing import Any

import anyio.to_thread
import httpx
import pytest
from fastapi import FastAPI

from loopsight.runtime import Runtime, instrument
from loopsight.runtime._types import Message
from loopsight.runtime.endpoints import SESSION_COOKIE, Endpoints
from loopsight.server import free_port

from ._helpers import TOKEN, killed_on_exit, loopsight_run, terminate, wait_ready, write_module

APP = """
from fastapi import FastAPI

app = FastAPI()


@app.get("/ready")
async def ready():
    return {}
"""


def _app(runtime: Runtime) -> FastAPI:
    app = FastAPI()
    instrument(
        app, runtime=runtime, log_stalls=False, endpoints=["dashboard", "stalls"], token=TOKEN
    )
    return app


def _client(app: Any) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url="http://test")


@pytest.mark.anyio
async def test_query_token_is_traded_for_a_scoped_cookie(runtime: Runtime) -> None:
    async with _client(_app(runtime)) as c:
        first = await c.get(f"/_loopsight/dashboard?a=1&token={TOKEN}&b=2")
        assert first.status_code == 303
        assert first.headers["location"] == "/_loopsight/dashboard?a=1&b=2"
        cookie = first.headers["set-cookie"]
        parts = {p.strip().split("=")[0].lower(): p for p in cookie.split(";")}
        assert {"httponly", "samesite", "path"} <= set(parts)
        assert parts["samesite"].strip() == "SameSite=Strict"
        assert parts["path"].strip() == "Path=/_loopsight"
        assert TOKEN not in cookie  # the browser keeps a derived value, not the token
        page = await c.get("/_loopsight/dashboard?a=1&b=2")  # the client sends the cookie
        assert page.status_code == 200
        assert "<svg" in page.text
        stalls = await c.get("/_loopsight/stalls")
        assert stalls.status_code == 200
        c.cookies.clear()
        anonymous = await c.get("/_loopsight/dashboard")
        c.cookies.set(SESSION_COOKIE, "x" * 64)
        forged = await c.get("/_loopsight/dashboard")
    assert anonymous.status_code == 401
    assert forged.status_code == 401


@pytest.mark.anyio
async def test_endpoints_render_outside_the_default_thread_pool(runtime: Runtime) -> None:
    default = anyio.to_thread.current_default_thread_limiter()
    seen: list[float] = []

    def spy() -> tuple[bytes, str]:
        seen.append(default.borrowed_tokens)
        return b"{}", "application/json"

    handler = Endpoints(runtime, token=TOKEN, enabled=["stalls"])
    handler._renderers["stalls"] = spy
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    scope = {"type": "http", "method": "GET", "path": "/_loopsight/stalls", "query_string": b"",
             "headers": [(b"authorization", f"Bearer {TOKEN}".encode())]}  # fmt: skip
    assert await handler.handle(scope, receive, send)
    assert sent[0]["status"] == 200
    assert seen == [0]  # no token of anyio's default limiter: the dashboard's pool stays quiet


@pytest.mark.slow
def test_access_log_of_a_real_server_never_holds_the_token(tmp_path: Path) -> None:
    write_module(tmp_path, "token_app", APP)
    port = free_port()
    secret = "s3cret-token-value"
    proc = loopsight_run(
        "token_app:app", "--port", str(port), "--endpoints", "dashboard,metrics",
        "--token", secret, cwd=tmp_path,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    browser = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    with killed_on_exit(proc):
        wait_ready(f"{base}/ready", proc)
        with browser.open(f"{base}/_loopsight/dashboard?token={secret}", timeout=10) as page:
            assert page.status == 200
            assert page.url == f"{base}/_loopsight/dashboard"  # redirected without the token
        with browser.open(f"{base}/_loopsight/dashboard", timeout=10) as again:
            assert again.status == 200  # the cookie alone
        with urllib.request.urlopen(f"{base}/_loopsight/metrics?token={secret}", timeout=10) as m:
            assert m.status == 200
        out, err = terminate(proc)
    log = out + err
    assert '"GET /_loopsight/dashboard HTTP/1.1" 303' in log, log
    assert '"GET /_loopsight/dashboard HTTP/1.1" 200' in log, log
    assert '"GET /_loopsight/metrics HTTP/1.1" 200' in log, log
    assert secret not in log
