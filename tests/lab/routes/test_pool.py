"""Seed 001's thread-pool experiment on real servers: 45 blocking ``def`` requests queue
behind anyio's 40 threads, and not behind ``LOOPSIGHT_LAB_THREADS=100``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest

from loopsight.lab.routes import pool

from .conftest import lab_server

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

SCALE = 0.05  # the 5 s task takes 0.25 s
TASK_S = 5 * SCALE
REQUESTS = 45


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, str]]:
    with lab_server(SCALE) as default, lab_server(SCALE, LOOPSIGHT_LAB_THREADS="100") as wide:
        yield {"default": default.url, "wide": wide.url}


async def _stats(client: httpx.AsyncClient) -> dict[str, int]:
    response = await client.get("/pool/stats")
    assert response.status_code == 200
    stats: dict[str, int] = response.json()
    return stats


async def _fetch(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
    try:
        return await reader.read()  # the server closes after one answer (Connection: close)
    finally:
        writer.close()


async def _burst(url: str) -> tuple[dict[str, int], dict[str, int], float]:
    """Stats before, stats once all requests arrived, and the burst's wall time.

    The requests go over raw connections opened beforehand, so all of them reach the server
    within a millisecond or two, well inside one task's time.
    """
    host, port = httpx.URL(url).host, httpx.URL(url).port
    request = f"GET /pool/sync-task HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        idle = await _stats(client)
        streams = [await asyncio.open_connection(host, port) for _ in range(REQUESTS)]
        started = time.perf_counter()
        for _, writer in streams:
            writer.write(request.encode())
        answers = [asyncio.create_task(_fetch(reader, writer)) for reader, writer in streams]
        deadline = time.monotonic() + 10
        while True:
            busy = await _stats(client)
            if busy["borrowed_tokens"] + busy["tasks_waiting"] >= REQUESTS:
                break
            assert time.monotonic() < deadline, busy
            await asyncio.sleep(0.005)
        raw = await asyncio.gather(*answers)
        wall = time.perf_counter() - started
    assert [answer.split(b" ", 2)[1] for answer in raw] == [b"200"] * REQUESTS
    assert raw[0].endswith(b'{"message":"Task done"}')
    return idle, busy, wall


async def test_default_limit_queues_past_40(servers: dict[str, str]) -> None:
    idle, busy, wall = await _burst(servers["default"])
    assert idle == {"borrowed_tokens": 0, "total_tokens": 40, "tasks_waiting": 0}
    assert busy == {"borrowed_tokens": 40, "total_tokens": 40, "tasks_waiting": REQUESTS - 40}
    assert wall >= 2 * TASK_S  # the last five wait for a first-wave thread


async def test_raised_limit_runs_all_at_once(servers: dict[str, str]) -> None:
    idle, busy, wall = await _burst(servers["wide"])
    assert idle == {"borrowed_tokens": 0, "total_tokens": 100, "tasks_waiting": 0}
    assert busy == {"borrowed_tokens": REQUESTS, "total_tokens": 100, "tasks_waiting": 0}
    assert wall >= TASK_S


@pytest.mark.parametrize("raw", ["many", "0", "-3"])
async def test_bad_thread_count_stops_start_up(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    from fastapi import FastAPI

    monkeypatch.setenv(pool.ENV_VAR, raw)
    with pytest.raises(SystemExit, match=pool.ENV_VAR):
        async with pool.lifespan(FastAPI()):
            pass  # pragma: no cover
