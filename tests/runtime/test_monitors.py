"""Thread-pool and background-task monitors, aggregates and processors."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import anyio
import anyio.to_thread
import httpx
import pytest
from fastapi import BackgroundTasks, FastAPI

from _services import require
from loopsight.runtime import Runtime, instrument
from loopsight.runtime.processors import group_stalls, quantile, route_summary
from loopsight.runtime.records import Activity, Culprit, Stall
from loopsight.runtime.requests import RequestLog
from loopsight.runtime.stats import OTHER, REQUEST_BUCKETS, CounterSet, HistogramSet
from loopsight.runtime.threadpool import PoolSample, ThreadPoolMonitor


def test_pool_saturation_episode_is_counted_and_reported() -> None:
    lines: list[str] = []
    monitor = ThreadPoolMonitor(on_saturation=lines.append)
    for at, borrowed, waiting in [(0.0, 10, 0), (0.1, 40, 0), (0.2, 40, 7), (0.5, 12, 0)]:
        monitor.record(PoolSample(at, borrowed, 40, waiting))
    assert monitor.saturations == 1
    assert monitor.saturated_seconds == pytest.approx(0.4)
    assert lines == ["thread pool saturated for 400 ms (40/40 tokens, up to 7 tasks waiting)"]
    assert monitor.last == PoolSample(0.5, 12, 40, 0)


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_pool_monitor_reads_the_real_default_limiter(anyio_backend: str) -> None:
    rt = Runtime(threshold=0.05)
    try:
        rt.attach(asyncio.get_running_loop())
        limiter = anyio.to_thread.current_default_thread_limiter()
        old = limiter.total_tokens
        limiter.total_tokens = 2
        try:
            async with anyio.create_task_group() as tg:
                for _ in range(4):
                    tg.start_soon(anyio.to_thread.run_sync, time.sleep, 0.4)
                await anyio.sleep(0.3)
                watch = rt.watch
                assert watch is not None
                point = rt.pool.sample(rt.limiters[watch], time.time())
        finally:
            limiter.total_tokens = old
    finally:
        rt.close()
    assert point is not None
    assert (point.borrowed, point.total, point.waiting) == (2, 2, 2)
    assert point.saturated


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_background_tasks_counted_timed_and_failures_recorded(
    runtime: Runtime, anyio_backend: str
) -> None:
    app = FastAPI()

    async def ok_job() -> None:
        await asyncio.sleep(0.01)

    def sync_job() -> None:
        time.sleep(0.01)

    async def bad_job() -> None:
        raise ValueError("job failed")

    @app.get("/work")
    async def work(tasks: BackgroundTasks, fail: bool = False) -> dict[str, Any]:
        tasks.add_task(ok_job)
        tasks.add_task(sync_job)
        if fail:
            tasks.add_task(bad_job)
        return {}

    instrument(app, runtime=runtime, log_stalls=False)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        await client.get("/work")
        await client.get("/work", params={"fail": "true"})
    outcomes = {key: int(row[0]) for key, row in runtime.background.outcomes.snapshot().items()}
    prefix = __name__
    ok = f"{prefix}.test_background_tasks_counted_timed_and_failures_recorded.<locals>.ok_job"
    assert outcomes[(ok, "ok")] == 2
    assert outcomes[(ok.replace("ok_job", "sync_job"), "ok")] == 2
    assert outcomes[(ok.replace("ok_job", "bad_job"), "failed")] == 1
    [failure] = list(runtime.background.failures)
    assert failure.error == "ValueError('job failed')"
    durations = runtime.background.durations.snapshot()
    assert durations[(ok,)][-1] >= 2 * 0.01  # the sum of two 10 ms sleeps
    assert runtime.background.running == 0


def test_background_patch_is_installed_once_and_removable(runtime: Runtime) -> None:
    from starlette.background import BackgroundTask

    original = BackgroundTask.__call__
    assert runtime.background.install()
    assert runtime.background.install()
    patched = BackgroundTask.__call__
    assert patched is not original
    assert patched.__loopsight_original__ is original  # type: ignore[attr-defined]
    runtime.background.uninstall()
    assert BackgroundTask.__call__ is original


def test_label_sets_are_capped() -> None:
    hist = HistogramSet((0.1, 1.0), max_series=3)
    for i in range(10):
        hist.observe((f"/r{i}", "GET"), 0.05)
    snap = hist.snapshot()
    assert len(snap) == 4  # three real series and the overflow
    assert snap[(OTHER, "GET")][0] == 7
    counters = CounterSet(max_series=1)
    counters.add(("a",), 1.0)
    counters.add(("b",), 2.0)
    assert counters.snapshot() == {("a",): [1.0, 1.0], (OTHER,): [1.0, 2.0]}


def test_observe_many_equals_observing_one_by_one() -> None:
    keys = [("/a", "GET", 200), ("/b", "GET", 500), ("/a", "GET", 200), ("/c", "PUT", 200)] * 3
    values = [0.004, 0.2, 0.05, 3.0, 0.0, 0.1, 0.1, 99.0, 0.01, 0.011, 0.75, 0.005]
    one, many = HistogramSet((0.01, 0.1, 1.0), max_series=2), HistogramSet((0.01, 0.1, 1.0), 2)
    for key, value in zip(keys, values, strict=True):
        one.observe(key, value)
    many.observe_many(keys[:5], values[:5])
    many.observe_many(keys[5:6], values[5:6])  # one series only: the summed path
    many.observe_many(keys[6:], values[6:])
    assert many.snapshot().keys() == one.snapshot().keys()
    for key, row in one.snapshot().items():
        assert many.snapshot()[key][:-1] == row[:-1]  # bucket counts, +Inf included
        assert many.snapshot()[key][-1] == pytest.approx(row[-1])


def test_a_batch_of_one_route_folds_like_a_mixed_batch() -> None:
    a, b = object(), object()
    records = [(id(a), "GET", 200, 1.0, d, 0.0) for d in (0.004, 0.2, 0.05, 3.0)]
    alone, mixed = RequestLog(), RequestLog()
    alone.finished.extend(records)
    alone.flush()  # one route, method and status: the path without a key per request
    mixed.finished.extend([*records, (id(b), "POST", 500, 2.0, 0.5, 0.25)])
    mixed.flush()
    key = (id(a), "GET", 200)
    assert alone.histograms.series == {key: mixed.histograms.series[key]}
    one_by_one = HistogramSet(REQUEST_BUCKETS)
    for route_id, method, status, _, seconds, _ in records:
        one_by_one.observe((route_id, method, status), seconds)
    assert alone.histograms.series == one_by_one.series
    assert mixed.histograms.series[(id(b), "POST", 500)][-1] == pytest.approx(0.5)
    assert mixed.queued.snapshot() == {(id(b), "POST"): [1.0, 0.25]}
    assert (alone.flushed, mixed.flushed, alone.in_flight()) == (4, 5, 0)


def test_a_malformed_queued_request_is_dropped_with_its_batch() -> None:
    log = RequestLog()
    log.finished.extend([(1, "GET", 200, 1.0, 0.5, 0.0), (1, "GET")])  # type: ignore[list-item]
    log.flush()  # no exception: the metrics go on
    assert (log.flushed, log.histograms.series) == (2, {})
    log.finished.append((1, "GET", 200, 1.0, 0.5, 0.0))
    log.flush()
    assert log.histograms.series[(1, "GET", 200)][-2:] == [0, 0.5]


def test_quantile_and_route_summary() -> None:
    bounds = (0.01, 0.1, 1.0)
    assert quantile(bounds, [90, 5, 5, 0], 0.95) == 0.1
    assert quantile(bounds, [0, 0, 0, 1], 0.5) == float("inf")
    assert quantile(bounds, [0, 0, 0, 0], 0.5) == 0.0
    requests = {
        ("/a", "GET", "200"): [8.0, 2.0, 0.0, 0.0, 0.15],
        ("/a", "GET", "500"): [0.0, 1.0, 0.0, 0.0, 0.05],
    }
    stall = Stall(0, 0.2, 0, Activity("request", "GET", "/a", "/a"), Culprit("x.py", 3, "f"))
    [row] = route_summary(bounds, requests, [stall])
    assert (row.route, row.method, row.requests, row.errors, row.stalls) == ("/a", "GET", 11, 1, 1)
    assert row.mean == pytest.approx(0.2 / 11)
    assert row.worst_culprit == "x.py:3"
    starved = Stall(0, 0.2, 0, Activity("request", "GET", "/a", "/a"), None, waited=0.15)
    groups = group_stalls([stall, stall, starved])
    assert [(g.culprit, g.count) for g in groups] == [("x.py:3", 2), ("<cpu-starved>", 1)]


def test_require_skips_locally_and_fails_when_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOOPSIGHT_REQUIRE", raising=False)
    with pytest.raises(pytest.skip.Exception):
        require("chromium", False, "not installed")
    monkeypatch.setenv("LOOPSIGHT_REQUIRE", "postgres,chromium")
    with pytest.raises(pytest.fail.Exception, match="chromium is required"):
        require("chromium", False, "not installed")
    require("chromium", True, "")  # available: nothing happens
