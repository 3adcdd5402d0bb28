"""Prometheus output parses with prometheus_client's parser, in one process and across
``--workers 2`` with PROMETHEUS_MULTIPROC_DIR."""

from __future__ import annotations

import asyncio
import time
import urllib.request
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from loopsight.runtime import Runtime, instrument
from loopsight.runtime.exporters.prometheus import PrometheusExporter
from loopsight.server import UvicornServer

from ._helpers import TOKEN, line_of, write_module


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_metrics_parse_and_count_requests_stalls_and_lag(
    runtime: Runtime, anyio_backend: str
) -> None:
    app = FastAPI()

    @app.get("/items/{item_id}")
    async def item(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    @app.get("/slow")
    async def slow() -> None:
        time.sleep(0.06)  # METRIC-STALL

    instrument(app, runtime=runtime, threshold_ms=20, log_stalls=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        for i in range(5):
            await client.get(f"/items/{i}")
        await client.get("/slow")
        for _ in range(100):
            if runtime.stalls:
                break
            await asyncio.sleep(0.01)
    exporter = PrometheusExporter(runtime.snapshot)
    body, content_type = exporter.render()
    assert content_type.startswith("text/plain")
    got = samples(body.decode())
    ok = (("method", "GET"), ("route", "/items/{item_id}"), ("status", "200"))
    assert got[("loopsight_request_duration_seconds_count", ok)] == 5
    inf = tuple(sorted((*ok, ("le", "+Inf"))))
    assert got[("loopsight_request_duration_seconds_bucket", inf)] == 5
    culprit = f"{Path(__file__).name}:{line_of(__file__, '# METRIC' + '-STALL')}"
    stall_keys = [k for k in got if k[0] == "loopsight_stalls_total"]
    assert len(stall_keys) == 1
    labels = dict(stall_keys[0][1])
    assert labels["route"] == "/slow"
    assert labels["culprit"].endswith(culprit)
    assert got[stall_keys[0]] == 1
    assert got[("loopsight_loop_lag_seconds_count", ())] > 0
    assert ("loopsight_threadpool_total_tokens", ()) in got
    # A second render adds nothing: deltas are applied once.
    again = samples(exporter.render()[0].decode())
    assert again[("loopsight_request_duration_seconds_count", ok)] == 5


MULTI_APP = """
from fastapi import FastAPI

import loopsight

app = FastAPI()


@app.get("/hello")
async def hello():
    return {"hello": "world"}


app = loopsight.instrument(app, endpoints=["metrics"], token="test-token")
"""


def _scrape(url: str) -> dict[Any, float]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return samples(response.read().decode())


@pytest.mark.slow
def test_multiprocess_metrics_sum_both_workers(tmp_path: Path) -> None:
    metrics_dir = tmp_path / "prom"
    metrics_dir.mkdir()
    write_module(tmp_path, "multi_app", MULTI_APP)
    env = {"PYTHONPATH": str(tmp_path), "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    key = (
        "loopsight_request_duration_seconds_count",
        (("method", "GET"), ("route", "/hello"), ("status", "200")),
    )
    with UvicornServer(
        "multi_app:app", env=env, extra_args=["--workers", "2"], health_path="/hello"
    ) as srv:
        n = 200
        for _ in range(n):
            # A new connection each time, so both workers get requests.
            with urllib.request.urlopen(f"{srv.url}/hello", timeout=10) as response:
                response.read()
        deadline = time.monotonic() + 5
        got = _scrape(f"{srv.url}/_loopsight/metrics")
        tokens = ("loopsight_threadpool_total_tokens", ())
        while (got.get(key, 0) < n or got.get(tokens) != 80) and time.monotonic() < deadline:
            time.sleep(0.2)  # each worker flushes its counts about once a second
            got = _scrape(f"{srv.url}/_loopsight/metrics")
    pids = {p.name.rsplit("_", 1)[-1] for p in metrics_dir.glob("histogram_*.db")}
    assert len(pids) == 2, pids  # both workers wrote their own metrics
    # n requests plus the health checks, counted across both workers by any one scrape.
    assert n <= got[key] <= n + 5
    assert got[("loopsight_threadpool_total_tokens", ())] == 80  # 40 per worker, livesum


def test_exposition_matches_prometheus_clients_own_metrics(runtime: Runtime) -> None:
    """The collector renders the aggregates as prometheus_client's Histogram would have."""
    from prometheus_client import CollectorRegistry, Histogram, generate_latest

    from loopsight.runtime.stats import REQUEST_BUCKETS

    observed = [("/a", 200, 0.003), ("/a", 200, 0.2), ("/a", 500, 0.05), ("/b", 200, 12.0)]
    reference = CollectorRegistry()
    histogram = Histogram(
        "loopsight_request_duration_seconds",
        "HTTP request duration by route template, method and status.",
        ["route", "method", "status"],
        buckets=REQUEST_BUCKETS,
        registry=reference,
    )
    for route, status, seconds in observed:
        runtime.requests.started += 1
        runtime.requests.finished.append((route, "GET", status, 0.0, seconds, 0.0))  # type: ignore[arg-type]
        histogram.labels(route, "GET", str(status)).observe(seconds)
    ours = samples(PrometheusExporter(runtime.snapshot).render()[0].decode())
    theirs = samples(generate_latest(reference).decode())
    assert theirs  # the reference rendered something to compare with
    for key, value in theirs.items():
        if not key[0].endswith("_created"):
            assert ours[key] == pytest.approx(value), key
    assert {k for k in ours if k[0].startswith("loopsight_request_")} == set(theirs)
