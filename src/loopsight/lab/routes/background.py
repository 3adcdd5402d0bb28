"""Seed 002's background-task patterns: tasks that run on the loop after the response, tasks
that run in the thread pool, a burst of small blocking tasks, and the same burst through a
bounded runner.

Every task counts itself in ``GET /bg/stats`` (completed / failed per kind), so a client can
wait for the work that outlives its response.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator

from fastapi import APIRouter, BackgroundTasks, FastAPI, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool

from loopsight.lab._scale import scaled

__all__ = ["BURST", "KINDS", "RUNNER_WORKERS", "BoundedRunner", "lifespan", "router"]

KINDS = ("async-blocking", "async-ok", "sync-task", "burst", "burst-bounded")
"""The kinds of background task that ``GET /bg/stats`` counts, one per route."""

BURST = 20  # tasks per burst request
RUNNER_WORKERS = 4  # chunks of a bounded burst that may run at once
_RUNNER_QUEUE = 10_000  # chunks waiting beyond this are refused with 503

router = APIRouter(prefix="/bg", tags=["background"])

_completed: Counter[str] = Counter()
_failed: Counter[str] = Counter()


@contextlib.contextmanager
def tally(kind: str) -> Iterator[None]:
    """Count the block as one completed task of ``kind``, or one failed if it raises."""
    try:
        yield
    except BaseException:
        _failed[kind] += 1
        raise
    _completed[kind] += 1


class BoundedRunner:
    """Runs sync chunks of work off the loop, at most ``workers`` at a time.

    An ``asyncio.Queue`` drained by a fixed number of worker tasks, each handing its chunk to
    the thread pool: a burst waits in the queue instead of taking the loop or every thread.
    """

    def __init__(self, workers: int = RUNNER_WORKERS, maxsize: int = _RUNNER_QUEUE) -> None:
        self.workers = workers
        self.queue: asyncio.Queue[Callable[[], object]] = asyncio.Queue(maxsize)
        self._tasks: list[asyncio.Task[None]] = []

    def submit(self, chunk: Callable[[], object]) -> None:
        """Queue ``chunk``; raises ``asyncio.QueueFull`` when the queue is full."""
        self.queue.put_nowait(chunk)

    async def _work(self) -> None:
        while True:
            chunk = await self.queue.get()
            # A failed chunk is counted by its tally; the worker goes on with the next.
            with contextlib.suppress(Exception):
                await run_in_threadpool(chunk)
            self.queue.task_done()

    def start(self) -> None:
        """Start the worker tasks on the running loop."""
        self._tasks = [asyncio.create_task(self._work()) for _ in range(self.workers)]

    async def stop(self) -> None:
        """Cancel the workers (queued chunks are dropped)."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Run a ``BoundedRunner`` as ``app.state.bg_runner`` for the app's life."""
    runner = BoundedRunner()
    runner.start()
    app.state.bg_runner = runner
    try:
        yield
    finally:
        await runner.stop()


async def send_report_blocking() -> None:
    with tally("async-blocking"):
        time.sleep(scaled(1.0))  # blocks the loop after the response has gone


async def send_report() -> None:
    with tally("async-ok"):
        await asyncio.sleep(scaled(1.0))


def send_report_sync() -> None:
    with tally("sync-task"):
        time.sleep(scaled(1.0))  # a def task: Starlette runs it in the thread pool


async def burst_chunk() -> None:
    with tally("burst"):
        time.sleep(scaled(0.05))  # small, but twenty in a row hold the loop


def bounded_chunk() -> None:
    with tally("burst-bounded"):
        time.sleep(scaled(0.05))


# Bad: an async task that blocks; the client has its answer, everyone else waits.
@router.get("/async-blocking")
async def bg_async_blocking(background_tasks: BackgroundTasks) -> dict[str, str]:
    background_tasks.add_task(send_report_blocking)
    return {"message": "report queued"}


# Good: an async task that awaits.
@router.get("/async-ok")
async def bg_async_ok(background_tasks: BackgroundTasks) -> dict[str, str]:
    background_tasks.add_task(send_report)
    return {"message": "report queued"}


# Good: a def task goes to the thread pool.
@router.get("/sync-task")
async def bg_sync_task(background_tasks: BackgroundTasks) -> dict[str, str]:
    background_tasks.add_task(send_report_sync)
    return {"message": "report queued"}


# Bad: twenty small blocking async tasks, run one after another on the loop.
@router.get("/burst")
async def bg_burst(background_tasks: BackgroundTasks) -> dict[str, int]:
    for _ in range(BURST):
        background_tasks.add_task(burst_chunk)
    return {"queued": BURST}


# Good: the same burst handed to a bounded runner that offloads each chunk.
@router.get("/burst-bounded")
async def bg_burst_bounded(request: Request) -> dict[str, int]:
    runner: BoundedRunner = request.app.state.bg_runner
    try:
        for _ in range(BURST):
            runner.submit(bounded_chunk)
    except asyncio.QueueFull:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "too much work queued") from None
    return {"queued": BURST}


@router.get("/stats")
async def bg_stats() -> dict[str, dict[str, int]]:
    """Completed and failed background tasks per kind, since start-up."""
    return {kind: {"completed": _completed[kind], "failed": _failed[kind]} for kind in KINDS}
