"""The same app with and without instrumentation answers byte for byte the same (apart from
Date and the two timing headers): streaming, large bodies, errors, client disconnects,
lifespan; websockets on the real server and through Starlette's TestClient."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from loopsight.server import UvicornServer

from ._helpers import starlette_test_client, write_module

pytestmark = pytest.mark.slow

APP = """
import asyncio
import json
import os
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException, Request, WebSocket
from fastapi.responses import PlainTextResponse, Response, StreamingResponse

EVENTS = []


@asynccontextmanager
async def lifespan(app):
    app.state.started = "yes"
    yield
    with open(os.environ["SHUTDOWN_FILE"], "w") as fh:
        fh.write(json.dumps({"events": EVENTS}))


app = FastAPI(lifespan=lifespan)


@app.get("/stream")
async def stream():
    async def chunks():
        for i in range(50):
            yield f"chunk {i}\\n".encode() * (i + 1)
            await asyncio.sleep(0)

    return StreamingResponse(chunks(), media_type="text/plain", headers={"x-custom": "1"})


@app.get("/large")
async def large():
    return Response(bytes(range(256)) * 20_000, media_type="application/octet-stream")


@app.get("/boom")
async def boom():
    raise RuntimeError("boom")


@app.get("/teapot")
async def teapot():
    raise HTTPException(status_code=418, detail="short and stout")


@app.get("/state")
async def state(request: Request):
    return {"started": request.app.state.started}


@app.get("/events")
async def events():
    return EVENTS


@app.get("/slow-stream")
async def slow_stream(request: Request):
    async def chunks():
        try:
            for i in range(200):
                yield b"x" * 1024
                await asyncio.sleep(0.01)
            EVENTS.append("completed")
        except BaseException as exc:
            EVENTS.append(f"stopped:{type(exc).__name__}")
            raise

    return StreamingResponse(chunks())


@app.websocket("/ws")
async def ws(websocket: WebSocket):
    await websocket.accept(subprotocol=None, headers=[(b"x-ws", b"1")])
    while True:
        text = await websocket.receive_text()
        if text == "bye":
            await websocket.close(code=4001, reason="bye")
            return
        await websocket.send_bytes(text.encode()[::-1])


if os.environ.get("INSTRUMENT") == "1":
    import loopsight

    app = loopsight.instrument(app, threshold_ms=30, server_timing=True, process_time=True)
"""

_DROP = (b"date", b"server-timing", b"x-process-time")


def raw_get(base: str, path: str) -> tuple[bytes, list[bytes], bytes]:
    """One request over a fresh connection; (status line, headers minus dropped ones, body)."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status, *headers = head.split(b"\r\n")
    kept = [h for h in headers if h.split(b":", 1)[0].lower() not in _DROP]
    return status, kept, body


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, UvicornServer]]:
    directory = tmp_path_factory.mktemp("transparency")
    write_module(directory, "plain_app", APP)
    out: dict[str, UvicornServer] = {}
    try:
        for mode in ("0", "1"):
            env = {
                "PYTHONPATH": str(directory),
                "INSTRUMENT": mode,
                "SHUTDOWN_FILE": str(directory / f"shutdown{mode}.json"),
            }
            srv = UvicornServer("plain_app:app", env=env, health_path="/state")
            srv.start()
            out[mode] = srv
        yield out
    finally:
        for srv in out.values():
            srv.stop()


@pytest.mark.parametrize("path", ["/stream", "/large", "/boom", "/teapot", "/state", "/nowhere"])
def test_responses_are_byte_for_byte_identical(
    servers: dict[str, UvicornServer], path: str
) -> None:
    bare = raw_get(servers["0"].url, path)
    instrumented = raw_get(servers["1"].url, path)
    assert instrumented == bare
    assert bare[2]  # a body was compared


def test_instrumented_server_adds_only_the_timing_headers(
    servers: dict[str, UvicornServer],
) -> None:
    host, port = servers["1"].url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"GET /state HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    names = {line.split(b":")[0].lower() for line in data.split(b"\r\n\r\n")[0].split(b"\r\n")[1:]}
    assert {b"server-timing", b"x-process-time"} <= names


def _disconnect_midstream(base: str) -> None:
    host, port = base.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    sock.sendall(b"GET /slow-stream HTTP/1.1\r\nHost: t\r\n\r\n")
    assert sock.recv(4096).startswith(b"HTTP/1.1 200")
    sock.close()


def test_client_disconnect_reaches_the_app_the_same_way(
    servers: dict[str, UvicornServer],
) -> None:
    seen = {}
    for mode, srv in servers.items():
        _disconnect_midstream(srv.url)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            events = json.loads(raw_get(srv.url, "/events")[2])
            if events:
                break
            time.sleep(0.05)
        seen[mode] = events
    assert seen["1"] == seen["0"]
    assert seen["0"]
    assert seen["0"][0].startswith("stopped:")


def test_lifespan_shutdown_runs_the_same_way(tmp_path: Path) -> None:
    write_module(tmp_path, "life_app", APP)
    results = {}
    for mode in ("0", "1"):
        out = tmp_path / f"down{mode}.json"
        env = {"PYTHONPATH": str(tmp_path), "INSTRUMENT": mode, "SHUTDOWN_FILE": str(out)}
        with UvicornServer("life_app:app", env=env, health_path="/state") as srv:
            state = raw_get(srv.url, "/state")
        results[mode] = (state, json.loads(out.read_text()))
    assert results["1"] == results["0"]
    assert results["0"][1] == {"events": []}


def _ws_transcript(base: str) -> tuple[object, ...]:
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    with connect(base.replace("http://", "ws://") + "/ws", open_timeout=10) as ws:
        assert ws.response is not None
        headers = sorted(
            (name.lower(), value)
            for name, value in ws.response.headers.raw_items()
            if name.lower() not in ("date", "sec-websocket-accept")
        )
        ws.send("hello")
        first = ws.recv(timeout=10)
        ws.send("loop")
        second = ws.recv(timeout=10)
        ws.send("bye")
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
    assert closed.value.rcvd is not None
    return (
        ws.response.status_code,
        headers,
        first,
        second,
        closed.value.rcvd.code,
        closed.value.rcvd.reason,
    )


def test_websockets_on_the_real_server_are_unchanged(servers: dict[str, UvicornServer]) -> None:
    bare = _ws_transcript(servers["0"].url)
    instrumented = _ws_transcript(servers["1"].url)
    assert instrumented == bare
    assert bare[0] == 101
    assert ("x-ws", "1") in bare[1]
    assert bare[2:] == (b"olleh", b"pool", 4001, "bye")


def test_websockets_pass_through_unchanged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_module(tmp_path, "ws_app", APP)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("SHUTDOWN_FILE", str(tmp_path / "ws.json"))
    import importlib

    transcripts = {}
    for mode in ("0", "1"):
        monkeypatch.setenv("INSTRUMENT", mode)
        module = importlib.import_module("ws_app")
        module = importlib.reload(module)
        with starlette_test_client()(module.app) as client, client.websocket_connect("/ws") as ws:
            ws.send_text("hello")
            first = ws.receive_bytes()
            ws.send_text("loop")
            second = ws.receive_bytes()
            ws.send_text("bye")
            closing = ws.receive()
            transcripts[mode] = (first, second, closing, ws.extra_headers)
    assert transcripts["1"] == transcripts["0"]
    assert transcripts["0"][0] == b"olleh"
    assert transcripts["0"][2] == {"type": "websocket.close", "code": 4001, "reason": "bye"}
