"""On a real server: each bad route holds the event loop for its seed-second, each good one
does not. Structure, not speed: a probe request's delay and the server's heartbeat."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from loopsight.lab.routes.background import BURST, RUNNER_WORKERS
from loopsight.server import UvicornServer

from ._probe import blocking_probe
from .conftest import lab_server

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

BLOCK_SCALE = 0.3  # one seed-second is 0.3 s here: far above a probe under load

GOOD_TRIES = 3  # a busy machine can slow a probe, never speed one: a good route gets retries

# route, background-task kind, tasks per request, seed-seconds of slow work
BAD = [
    ("/db/sync-driver", None, 1, 1.0),
    ("/external/requests-in-async", None, 1, 1.0),
    ("/cpu/inline", None, 1, 1.0),
    ("/cpu/pool-apply", None, 1, 1.0),
    ("/bg/async-blocking", "async-blocking", 1, 1.0),
    ("/bg/burst", "burst", BURST, 1.0),
]
GOOD = [
    ("/db/async-session", None, 1, 1.0),
    ("/db/sync-route", None, 1, 1.0),
    ("/external/async-client", None, 1, 1.0),
    ("/external/requests-sync-route", None, 1, 1.0),
    ("/cpu/process-pool", None, 1, 1.0),
    ("/bg/async-ok", "async-ok", 1, 1.0),
    ("/bg/sync-task", "sync-task", 1, 1.0),
    # The burst's twenty 0.05 s chunks, RUNNER_WORKERS at a time.
    ("/bg/burst-bounded", "burst-bounded", BURST, BURST * 0.05 / RUNNER_WORKERS),
]


@pytest.fixture(scope="module")
def server(upstream: UvicornServer) -> Iterator[UvicornServer]:
    with lab_server(BLOCK_SCALE, LOOPSIGHT_LAB_UPSTREAM=upstream.url) as lab:
        yield lab


@pytest.mark.parametrize(("route", "kind", "tasks", "seed_s"), BAD, ids=[r[0] for r in BAD])
async def test_bad_route_blocks_the_loop(
    server: UvicornServer, route: str, kind: str | None, tasks: int, seed_s: float
) -> None:
    probe = await blocking_probe(server, route, background=kind, tasks=tasks, seed_s=seed_s)
    assert probe.worked, probe
    assert probe.blocks, probe


@pytest.mark.parametrize(("route", "kind", "tasks", "seed_s"), GOOD, ids=[r[0] for r in GOOD])
async def test_good_route_leaves_the_loop_free(
    server: UvicornServer, route: str, kind: str | None, tasks: int, seed_s: float
) -> None:
    probes = []
    for _ in range(GOOD_TRIES):
        probe = await blocking_probe(server, route, background=kind, tasks=tasks, seed_s=seed_s)
        assert probe.worked, probe
        probes.append(probe)
        if probe.clean:
            break
    assert probes[-1].clean, probes


CPU_ROUTES = [
    "/cpu/inline",
    "/cpu/thread-executor",
    "/cpu/process-pool",
    "/cpu/pool-apply",
    "/cpu/executor-per-request",
]


async def test_every_cpu_route_does_the_same_calibrated_work(server: UvicornServer) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
        results = {route: (await client.get(route)).json()["result"] for route in CPU_ROUTES}
    # A child process gets the size as an argument, so it sums exactly what the loop would.
    assert len(set(results.values())) == 1, results
    assert next(iter(results.values())) > 0


def _cpu_s(pid: int) -> float:
    """CPU time (user + system, all threads) the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
@pytest.mark.parametrize("route", ["/cpu/thread-executor", "/cpu/executor-per-request"])
async def test_threads_never_use_more_than_one_core(server: UvicornServer, route: str) -> None:
    assert server.pid is not None
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
        cpu_before, started = _cpu_s(server.pid), time.perf_counter()
        responses = await asyncio.gather(*(client.get(route) for _ in range(3)))
        wall, cpu = time.perf_counter() - started, _cpu_s(server.pid) - cpu_before
    assert [r.status_code for r in responses] == [200] * 3
    # Three threads compute at once, yet the GIL lets the server use one core at most
    # (a busy machine can only lower this); the work itself was real.
    assert 0.1 * wall < cpu < 1.2 * wall, (cpu, wall)
