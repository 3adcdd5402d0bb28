"""Does a route block a real lab server's event loop? Ask ``/async`` while it runs, and ask the
server's heartbeat."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import httpx

from loopsight.lab._heartbeat import STATS_PATH as STATS
from loopsight.server import UvicornServer

BG_STATS = "/bg/stats"


@dataclass(frozen=True)
class Probe:
    """One route's run beside a probe request, in real seconds.

    ``busy_s`` runs from sending the route's request to the end of its work (its response, or
    its background tasks counted done); ``lead_s`` from then to sending ``GET /async``, which
    took ``probe_s``; the server's heartbeat saw its loop blocked for ``blocked_s`` meanwhile.
    ``block_s`` is the slow part's nominal time (one seed-second at the server's scale).
    Judged against ``busy_s`` as measured, so a work size fitted on a busy machine still reads.
    """

    route: str
    status: int
    busy_s: float
    lead_s: float
    probe_s: float
    blocked_s: float
    block_s: float

    @property
    def worked(self) -> bool:
        """The slow part really ran (not an error or a shortcut)."""
        return self.status == 200 and self.busy_s > 0.3 * self.block_s

    @property
    def blocks(self) -> bool:
        """Both measures saw the loop held for most of the work."""
        return (
            self.probe_s > 0.5 * (self.busy_s - self.lead_s) and self.blocked_s > 0.5 * self.busy_s
        )

    @property
    def clean(self) -> bool:
        """Neither measure saw the loop held for more than a small part of the work."""
        return self.probe_s < 0.3 * self.busy_s and self.blocked_s < 0.25 * self.busy_s


async def _blocked(client: httpx.AsyncClient) -> float:
    response = await client.get(STATS)
    return float(response.json()["blocked_s"])


async def _scale(client: httpx.AsyncClient) -> float:
    response = await client.get(STATS)
    return float(response.json()["scale"])


async def wait_background(client: httpx.AsyncClient, kind: str, done: int, timeout: float) -> None:
    """Wait until ``done`` tasks of ``kind`` have completed (per ``GET /bg/stats``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stats = (await client.get(BG_STATS)).json()
        if stats[kind]["completed"] >= done:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{done} {kind} tasks not done within {timeout} s: {stats}")


async def blocking_probe(
    server: UvicornServer,
    route: str,
    *,
    background: str | None = None,
    tasks: int = 1,
    seed_s: float = 1.0,
) -> Probe:
    """Run ``route`` once on ``server`` with a probe beside it.

    For a route whose slow part is ``tasks`` background tasks of kind ``background``, the probe
    goes right after the response and the run ends when ``/bg/stats`` counts them done.
    """
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
        block_s = seed_s * await _scale(client)
        await client.get("/async")  # warm a second connection for the probe
        before = await _blocked(client)
        if background is not None:
            done = (await client.get(BG_STATS)).json()[background]["completed"]
            sent = time.perf_counter()
            response = await client.get(route)
            probe_at = time.perf_counter()
            await client.get("/async")
            probe_s = time.perf_counter() - probe_at
            await wait_background(client, background, done + tasks, timeout=30 + 10 * block_s)
        else:
            sent = time.perf_counter()
            busy = asyncio.create_task(client.get(route))
            await asyncio.sleep(0.2 * block_s)  # the route is into its slow part by now
            probe_at = time.perf_counter()
            await client.get("/async")
            probe_s = time.perf_counter() - probe_at
            response = await busy
        busy_s = time.perf_counter() - sent
        blocked_s = await _blocked(client) - before
    return Probe(route, response.status_code, busy_s, probe_at - sent, probe_s, blocked_s, block_s)
