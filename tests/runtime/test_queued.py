"""A request that waited in the socket behind another route's stall says so: ``queued``."""

from __future__ import annotations

import re
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from loopsight.server import UvicornServer

from ._helpers import TOKEN, write_module

APP = """
import time

from fastapi import FastAPI

import loopsight

app = FastAPI()


@app.get("/block")
async def block():
    time.sleep(0.3)
    return {}


@app.get("/fast")
async def fast():
    return {}


app = loopsight.instrument(
    app, threshold_ms=50, endpoints=["metrics"], token="test-token", server_timing=True
)
"""


def _timing(header: str) -> dict[str, float]:
    return {m[0]: float(m[1]) for m in re.findall(r"(\w+);dur=([\d.]+)", header)}


@pytest.mark.slow
@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_a_request_sent_during_a_stall_reports_it_as_queued(tmp_path: Path, loop: str) -> None:
    write_module(tmp_path, "queued_app", APP)
    env = {"PYTHONPATH": str(tmp_path)}
    with UvicornServer("queued_app:app", env=env, extra_args=["--loop", loop]) as srv:
        with urllib.request.urlopen(f"{srv.url}/fast", timeout=10) as alone:
            assert "queued" not in alone.headers["server-timing"]
        blocker = threading.Thread(
            target=lambda: urllib.request.urlopen(f"{srv.url}/block", timeout=10).close()
        )
        blocker.start()
        time.sleep(0.1)  # /block is stalling the loop by now
        sent = time.perf_counter()
        with urllib.request.urlopen(f"{srv.url}/fast", timeout=10) as queued:
            waited = time.perf_counter() - sent
            timing = _timing(queued.headers["server-timing"])
        blocker.join()
        request = urllib.request.Request(
            f"{srv.url}/_loopsight/metrics", headers={"Authorization": f"Bearer {TOKEN}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            metrics = response.read().decode()
    # The server cannot see when the request arrived: it reports the whole stall it followed,
    # an upper bound of the wait the client saw (about 200 ms of the 300 ms stall).
    assert timing["total"] < 100, timing
    assert 150 <= timing["queued"] <= 600, timing
    assert timing["queued"] >= waited * 1000 - timing["total"] - 50, (timing, waited)
    count = re.search(
        r'loopsight_queued_requests_total\{method="GET",route="/fast"\} (\S+)', metrics
    )
    assert count is not None, metrics
    assert float(count.group(1)) == 1.0
    seconds = re.search(
        r'loopsight_queued_seconds_total\{method="GET",route="/fast"\} (\S+)', metrics
    )
    assert seconds is not None
    assert float(seconds.group(1)) == pytest.approx(timing["queued"] / 1000, abs=1e-3)
