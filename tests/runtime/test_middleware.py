"""The middleware in-process (httpx.ASGITransport): headers, labels, endpoints, robustness."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, HTTPException, WebSocket
from fastapi.responses import StreamingResponse

from loopsight.errors import LoopsightError
from loopsight.runtime import LoopsightMiddleware, Runtime, instrument
from loopsight.runtime.exporters.json import stalls_document

from ._helpers import TOKEN, starlette_test_client

pytestmark = pytest.mark.anyio


@pytest.fixture(params=[False, True], ids=["asyncio", "uvloop"])
def anyio_backend(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    return ("asyncio", {"use_uvloop": request.param})


def make_app(runtime: Runtime, **options: Any) -> FastAPI:
    app = FastAPI()

    @app.get("/items/{item_id}")
    async def item(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    @app.get("/slow")
    async def slow() -> dict[str, str]:
        time.sleep(0.08)  # SLOW-ROUTE
        return {"ok": "yes"}

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("boom")

    @app.get("/teapot")
    async def teapot() -> None:
        raise HTTPException(418)

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        async def chunks() -> Any:
            for i in range(3):
                yield f"chunk{i};".encode()
                await asyncio.sleep(0)

        return StreamingResponse(chunks(), media_type="text/plain")

    options.setdefault("log_stalls", False)
    instrument(app, runtime=runtime, threshold_ms=20, **options)
    return app


def client(app: Any) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def test_timing_headers_and_route_template_labels(runtime: Runtime) -> None:
    app = make_app(runtime, server_timing=True, process_time=True)
    async with client(app) as c:
        fast = await c.get("/items/42")
        slow = await c.get("/slow")
    assert fast.json() == {"id": 42}
    timing = dict(part.strip().split(";", 1) for part in fast.headers["server-timing"].split(","))
    assert set(timing) == {"total", "stall"}
    assert float(fast.headers["x-process-time"]) < float(slow.headers["x-process-time"])
    slow_total = float(slow.headers["server-timing"].split("total;dur=")[1].split(",")[0])
    slow_stall = float(slow.headers["server-timing"].split("stall;dur=")[1])
    # ms: the request's own 80 ms block, counted at response start, never more than the total.
    assert 60 <= slow_stall <= slow_total
    keys = set(runtime.request_rows())
    assert ("/items/{item_id}", "GET", "200") in keys
    assert ("/slow", "GET", "200") in keys


async def test_requests_are_counted_in_flight_and_aggregated_in_bulk(runtime: Runtime) -> None:
    seen: list[int] = []
    app = FastAPI()

    @app.get("/peek/{n}")
    async def peek(n: int) -> dict[str, int]:
        seen.append(runtime.in_flight())
        await asyncio.sleep(0.01)  # so that the gathered requests overlap
        return {"n": n}

    wrapped = instrument(app, runtime=runtime, log_stalls=False)
    async with client(wrapped) as c:
        one = await c.get("/peek/1")
        two = await asyncio.gather(*(c.get(f"/peek/{i}") for i in range(5)))
    assert one.status_code == 200
    assert [r.json()["n"] for r in two] == list(range(5))
    assert seen[0] == 1
    assert max(seen) >= 2  # the gathered requests overlap
    rows = runtime.request_rows()  # a read folds in what the last tick left queued
    assert len(runtime.requests.finished) == 0
    assert sum(rows[("/peek/{n}", "GET", "200")][:-1]) == 6  # bucket counts; the sum is last
    assert runtime.in_flight() == 0


async def test_no_timing_headers_by_default(runtime: Runtime) -> None:
    app = make_app(runtime)
    async with client(app) as c:
        r = await c.get("/items/1")
    assert "server-timing" not in r.headers
    assert "x-process-time" not in r.headers
    assert runtime.request_rows()  # still measured


async def test_stall_in_async_route_is_attributed_in_process(runtime: Runtime) -> None:
    app = make_app(runtime)
    async with client(app) as c:
        await c.get("/slow")
    await runtime.published()
    [stall] = list(runtime.stalls)
    assert stall.activity.route == "/slow"
    assert stall.culprit is not None
    assert stall.culprit.call == "time.sleep(0.08)"
    assert stall.culprit.function.endswith("slow")


async def test_stall_in_a_streamed_body_is_attributed_to_its_route(runtime: Runtime) -> None:
    # Starlette streams from an anyio child task: no middleware frame on its stack, so the
    # request is found down the parent task's coroutines.
    app = FastAPI()

    @app.get("/feed/{name}")
    async def feed(name: str) -> StreamingResponse:
        async def chunks() -> Any:
            yield b"a"
            time.sleep(0.08)  # STALL-IN-STREAM
            yield b"b"

        return StreamingResponse(chunks())

    wrapped = instrument(app, runtime=runtime, threshold_ms=20, log_stalls=False)
    async with client(wrapped) as c:
        r = await c.get("/feed/x")
    assert r.content == b"ab"
    await runtime.published()
    [stall] = list(runtime.stalls)
    assert (stall.activity.kind, stall.activity.route) == ("request", "/feed/{name}")
    assert stall.activity.path == "/feed/x"
    assert stall.culprit is not None
    assert stall.culprit.function.endswith("chunks")
    assert stall.culprit.call == "time.sleep(0.08)"


async def test_errors_and_streaming_pass_through(runtime: Runtime) -> None:
    app = make_app(runtime)
    async with client(app) as c:
        boom = await c.get("/boom")
        teapot = await c.get("/teapot")
        stream = await c.get("/stream")
        missing = await c.get("/missing")
    assert boom.status_code == 500
    assert teapot.status_code == 418
    assert stream.content == b"chunk0;chunk1;chunk2;"
    assert missing.status_code == 404
    keys = set(runtime.request_rows())
    assert ("/boom", "GET", "500") in keys
    assert ("/teapot", "GET", "418") in keys
    assert ("<unmatched>", "GET", "404") in keys


async def test_exception_from_a_raw_app_propagates_and_is_counted(runtime: Runtime) -> None:
    async def raw(scope: Any, receive: Any, send: Any) -> None:
        raise ValueError("from the app")

    app = LoopsightMiddleware(raw, runtime=runtime)
    scope = {"type": "http", "method": "GET", "path": "/x", "headers": []}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: Any) -> None:
        raise AssertionError("nothing is sent")

    with pytest.raises(ValueError, match="from the app"):
        await app(scope, receive, send)
    assert ("<unmatched>", "GET", "500") in runtime.request_rows()
    assert runtime.registry.live == {}


async def test_bookkeeping_failures_never_reach_the_app(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(runtime, server_timing=True, process_time=True)

    class BrokenQueue(list[Any]):
        def append(self, item: Any) -> None:
            raise RuntimeError("loopsight bug")

    monkeypatch.setattr(runtime.requests, "finished", BrokenQueue())
    async with client(app) as c:
        r = await c.get("/items/5")
    assert r.status_code == 200
    assert r.json() == {"id": 5}
    assert "server-timing" in r.headers  # only the recording failed

    real, calls = runtime.clock, 0

    def clock_that_breaks_after_the_start() -> float:
        nonlocal calls
        calls += 1
        if calls > 1:  # at the response start (the headers) and at the end (the record)
            raise RuntimeError("loopsight bug")
        return real()

    monkeypatch.setattr(runtime, "clock", clock_that_breaks_after_the_start)
    async with client(app) as c:
        r = await c.get("/items/6")
    assert r.status_code == 200
    assert r.json() == {"id": 6}
    assert calls == 3
    assert "server-timing" not in r.headers  # the header step failed and was skipped


async def test_generic_asgi_app_is_wrapped(runtime: Runtime) -> None:
    async def raw(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"a", b"1")]})
        await send({"type": "http.response.body", "body": b"raw"})

    wrapped = instrument(raw, runtime=runtime, log_stalls=False, process_time=True)
    assert isinstance(wrapped, LoopsightMiddleware)
    async with client(wrapped) as c:
        r = await c.get("/anything")
    assert r.content == b"raw"
    assert r.headers["a"] == "1"
    assert "x-process-time" in r.headers


async def test_endpoints_require_the_token(runtime: Runtime) -> None:
    app = make_app(runtime, endpoints=["stalls", "metrics"], token=TOKEN)
    async with client(app) as c:
        await c.get("/items/1")
        anonymous = await c.get("/_loopsight/stalls")
        wrong = await c.get("/_loopsight/stalls", headers={"Authorization": "Bearer nope"})
        bearer = await c.get("/_loopsight/stalls", headers={"Authorization": f"Bearer {TOKEN}"})
        query = await c.get(f"/_loopsight/metrics?token={TOKEN}")
        disabled = await c.get(f"/_loopsight/dashboard?token={TOKEN}")
        post = await c.post(f"/_loopsight/stalls?token={TOKEN}")
    assert anonymous.status_code == 401
    assert wrong.status_code == 401
    assert bearer.status_code == 200
    assert bearer.json()["threshold_ms"] == pytest.approx(20)
    assert query.status_code == 200
    assert "loopsight_request_duration_seconds" in query.text
    assert disabled.status_code == 404  # not enabled: the app answers
    assert post.status_code == 405


def test_endpoints_refuse_to_start_without_a_token(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LOOPSIGHT_TOKEN", raising=False)
    with pytest.raises(LoopsightError, match="token"):
        instrument(FastAPI(), runtime=runtime, endpoints=["metrics"])
    with pytest.raises(LoopsightError, match="unknown endpoint"):
        instrument(FastAPI(), runtime=runtime, endpoints=["secrets"], token="x")
    with pytest.raises(LoopsightError, match="unknown sampler 'timer'"):
        instrument(FastAPI(), runtime=runtime, sampler="timer")


async def test_json_document_lists_the_stall(runtime: Runtime) -> None:
    app = make_app(runtime)
    async with client(app) as c:
        await c.get("/slow")
    await runtime.published()
    doc = stalls_document(runtime.snapshot())
    assert doc["stall_count"] == 1
    assert doc["groups"][0]["route"] == "/slow"
    assert doc["groups"][0]["call"] == "time.sleep(0.08)"


def test_websocket_stall_is_attributed_and_messages_untouched(runtime: Runtime) -> None:
    app = FastAPI()

    @app.websocket("/ws/{room}")
    async def ws(websocket: WebSocket, room: str) -> None:
        await websocket.accept()
        text = await websocket.receive_text()
        time.sleep(0.06)  # WS-STALL
        await websocket.send_text(text.upper())
        await websocket.close()

    instrument(app, runtime=runtime, threshold_ms=20, log_stalls=False)
    with starlette_test_client()(app) as client, client.websocket_connect("/ws/lobby") as conn:
        conn.send_text("hi")
        assert conn.receive_text() == "HI"
    deadline = time.monotonic() + 2
    while not runtime.stalls and time.monotonic() < deadline:
        time.sleep(0.01)
    stalls = [s for s in runtime.stalls if s.activity.kind == "websocket"]
    assert len(stalls) == 1, [s.describe() for s in runtime.stalls]
    assert stalls[0].activity.route == "/ws/{room}"
    assert stalls[0].activity.path == "/ws/lobby"
    assert stalls[0].culprit is not None
    assert stalls[0].culprit.call == "time.sleep(0.06)"


async def test_instrumenting_twice_adds_one_middleware(runtime: Runtime) -> None:
    app = make_app(runtime, server_timing=True)
    assert instrument(app, runtime=runtime, threshold_ms=50, log_stalls=False) is app
    assert runtime.threshold == pytest.approx(0.05)
    async with client(app) as c:
        r = await c.get("/items/1")
    assert len(r.headers.get_list("server-timing")) == 1


async def test_routes_of_mounted_apps_are_labelled_with_the_mount_path(runtime: Runtime) -> None:
    admin = FastAPI()

    @admin.get("/users/{user_id}")
    async def user(user_id: int) -> dict[str, int]:
        time.sleep(0.05)  # a stall, to check the stall's label too
        return {"id": user_id}

    async def files(scope: Any, receive: Any, send: Any) -> None:  # a plain ASGI mount
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"file"})

    app = make_app(runtime)
    app.mount("/admin", admin)
    app.mount("/static", files)
    async with client(app) as c:
        assert (await c.get("/admin/users/7")).json() == {"id": 7}
        assert (await c.get("/static/a.css")).content == b"file"
        assert (await c.get("/items/1")).status_code == 200
    await runtime.published()
    keys = set(runtime.request_rows())
    assert ("/admin/users/{user_id}", "GET", "200") in keys
    assert ("/static/{path}", "GET", "200") in keys
    assert ("/items/{item_id}", "GET", "200") in keys
    assert [stall.activity.route for stall in runtime.stalls] == ["/admin/users/{user_id}"]
