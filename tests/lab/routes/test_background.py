"""The background routes answer at once and their tasks run to completion afterwards, each
counted by ``/bg/stats``; the bounded runner never runs more than its workers at once."""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
import pytest

from loopsight.lab.routes.background import BURST, KINDS, BoundedRunner

from ._probe import wait_background

pytestmark = pytest.mark.anyio

ROUTES = [
    ("/bg/async-blocking", "async-blocking", 1),
    ("/bg/async-ok", "async-ok", 1),
    ("/bg/sync-task", "sync-task", 1),
    ("/bg/burst", "burst", BURST),
    ("/bg/burst-bounded", "burst-bounded", BURST),
]


async def test_stats_list_every_kind(lab_client: httpx.AsyncClient) -> None:
    stats = (await lab_client.get("/bg/stats")).json()
    assert list(stats) == list(KINDS)
    assert all(set(counts) == {"completed", "failed"} for counts in stats.values())


@pytest.mark.parametrize(("route", "kind", "tasks"), ROUTES, ids=[r for r, _, _ in ROUTES])
async def test_tasks_complete_after_the_response(
    lab_client: httpx.AsyncClient, route: str, kind: str, tasks: int
) -> None:
    before = (await lab_client.get("/bg/stats")).json()
    response = await lab_client.get(route)
    assert response.status_code == 200
    await wait_background(lab_client, kind, before[kind]["completed"] + tasks, timeout=20)
    after = (await lab_client.get("/bg/stats")).json()
    assert after[kind] == {"completed": before[kind]["completed"] + tasks, "failed": 0}
    others = {k: v for k, v in after.items() if k != kind}
    assert others == {k: v for k, v in before.items() if k != kind}


async def test_bounded_runner_caps_concurrency_and_survives_failures() -> None:
    runner = BoundedRunner(workers=3, maxsize=50)
    running = peak = done = 0
    lock = threading.Lock()

    def chunk() -> None:
        nonlocal running, peak, done
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.01)
        with lock:
            running -= 1
            done += 1

    def broken() -> None:
        raise RuntimeError("chunk failed")

    runner.start()
    try:
        runner.submit(broken)
        for _ in range(12):
            runner.submit(chunk)
        await asyncio.wait_for(runner.queue.join(), timeout=10)
    finally:
        await runner.stop()
    assert done == 12
    assert peak == 3


async def test_bounded_runner_refuses_work_past_its_queue() -> None:
    runner = BoundedRunner(workers=1, maxsize=2)  # not started: nothing drains the queue
    runner.submit(lambda: None)
    runner.submit(lambda: None)
    with pytest.raises(asyncio.QueueFull):
        runner.submit(lambda: None)
