"""The lab's scenarios: each route of the lab app, what the seed reported, how the model
sees it."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from loopsight.errors import LoopsightError
from loopsight.model import Cpu, Phase, Resource, cpu, gil, hold, loop, pool, wait

__all__ = [
    "CATALOGUE",
    "DEFAULT_GROUPS",
    "GROUPS",
    "SCENARIOS",
    "Pattern",
    "Scenario",
    "SeedFigures",
    "select",
]


@dataclass(frozen=True)
class SeedFigures:
    """What a seed article reported for ``ab -n 200 -c 100``."""

    rps: float
    total_s: float


Pattern = Literal["bad", "good", "baseline"]


@dataclass(frozen=True)
class Scenario:
    """One lab experiment: a route under load, with the model's phases for it.

    ``pattern`` says whether the route shows a mistake (``bad``), its fix (``good``) or a
    reference (``baseline``); a bad route with ``stalls`` is expected to block the loop at run
    time, one without (a missing ``await``, a costly middleware) is wrong in another way.
    ``server_env`` runs the scenario on a server of its own with these settings;
    ``capacities`` are the model's resources beyond the loop and the thread pool. ``after`` is
    the work a request leaves behind once answered (background tasks). ``children_hold`` names
    the resource whose CPU phases run in child processes, and ``residual_on`` what the time the
    calibration at c=1 finds beyond the phases holds (``loopsight.lab._calibrate``).
    """

    name: str
    route: str
    group: str
    summary: str
    phases: tuple[Phase, ...] = field(default=())
    seed: SeedFigures | None = None
    pattern: Pattern = "baseline"
    stalls: bool = False
    fix: str = ""
    server_env: Mapping[str, str] = field(default_factory=dict)
    capacities: Mapping[str, int] = field(default_factory=dict)
    pool_size: int = 40
    modelled: bool = True
    requests_factor: float = 1.0  # this scenario's share of -n (middleware needs more)
    pg_phases: tuple[Phase, ...] | None = None
    after: tuple[Phase, ...] = ()
    children_hold: Resource = "process"
    residual_on: Resource = "wait"
    functions: tuple[str, ...] = ()  # middleware / background functions that belong to it
    settle: tuple[str, str, int] | None = None
    """Background work to wait for after the load: (stats path, kind, tasks per request); the
    path answers ``{kind: {"completed": n, "failed": m}}``."""
    trace: bool = False  # save a Perfetto trace after this scenario

    def phases_for(self, database: str) -> tuple[Phase, ...]:
        """The model's phases when the lab runs on ``database`` (``sqlite`` or ``postgresql``)."""
        if database == "postgresql" and self.pg_phases is not None:
            return self.pg_phases
        return self.phases

    @property
    def timed(self) -> bool:
        """Whether the route's time comes from scaled work (hello routes take ~no time): its
        phases, or background work that holds the loop after the answer."""
        return any(phase.seconds > 0 for phase in self.phases) or any(
            phase.seconds > 0 and phase.resource == "loop" for phase in self.after
        )

    @property
    def holds_loop(self) -> bool:
        """Whether the route's own code holds the loop (a phase or background work on it)."""
        return any(p.resource == "loop" and p.seconds > 0 for p in (*self.phases, *self.after))

    @property
    def has_model(self) -> bool:
        """Whether the queueing model predicts this scenario's time (an untimed one only from
        the costs calibrated before its run)."""
        return self.modelled


_CORES = os.cpu_count() or 1

SCENARIOS: tuple[Scenario, ...] = (
    # Seed 000: the hello routes and the four cases.
    Scenario("hello-sync", "/sync", "hello", "def route, no I/O (thread pool)", (pool(0.0),)),
    Scenario("hello-async", "/async", "hello", "async def route, no I/O (event loop)"),
    Scenario(
        "case1",
        "/case1",
        "cases",
        "def route, 2 x time.sleep(3): runs in the thread pool (40 tokens)",
        (pool(6.0),),
        SeedFigures(rps=5.53, total_s=36.0),
        pattern="good",
        fix="a def route runs in the thread pool; the loop stays free",
    ),
    Scenario(
        "case2",
        "/case2",
        "cases",
        "async def route, 2 x time.sleep(3) via a sync helper: blocks the loop",
        (loop(3.0), loop(3.0)),
        SeedFigures(rps=0.17, total_s=1200.0),
        pattern="bad",
        stalls=True,
        fix="await asyncio.sleep / async I/O (case3), or await run_in_threadpool(helper) (case4)",
        trace=True,
    ),
    Scenario(
        "case3",
        "/case3",
        "cases",
        "async def route, 2 x await asyncio.sleep(3)",
        (wait(3.0), wait(3.0)),
        SeedFigures(rps=11.06, total_s=18.0),
        pattern="good",
        trace=True,
    ),
    Scenario(
        "case4",
        "/case4",
        "cases",
        "async def route, await run_in_threadpool(sync helper) + await asyncio.sleep(3)",
        (pool(3.0), wait(3.0)),
        SeedFigures(rps=8.29, total_s=24.0),
        pattern="good",
    ),
    # Seed 001: 5-second tasks.
    Scenario(
        "sync-task",
        "/sync-task",
        "tasks",
        "def route, time.sleep(5): holds a thread-pool token for 5 s",
        (pool(5.0),),
        pattern="good",
    ),
    Scenario(
        "async-task",
        "/async-task",
        "tasks",
        "async def route, await asyncio.sleep(5)",
        (wait(5.0),),
        pattern="good",
    ),
    # Seed 002: database access.
    Scenario(
        "db-sync-driver",
        "/db/sync-driver",
        "db",
        "async def route, slow query through the sync driver (sqlite3 / psycopg)",
        (loop(1.0, Cpu.CORE),),  # SQLite counts in C on the loop's thread
        pattern="bad",
        stalls=True,
        fix="an AsyncSession on an async driver (aiosqlite, asyncpg), or a def route",
        pg_phases=(loop(1.0),),  # pg_sleep: the loop waits on the socket
    ),
    Scenario(
        "db-async-session",
        "/db/async-session",
        "db",
        "async def route, the same query awaited on a SQLAlchemy AsyncSession",
        (cpu(1.0),),  # in aiosqlite's thread, outside the GIL: the cores bound it
        pattern="good",
        capacities={"db": 80},  # the async engine's pool_size + max_overflow
        pg_phases=(hold("db", 1.0),),  # pg_sleep: bounded by the connection pool
    ),
    Scenario(
        "db-sync-route",
        "/db/sync-route",
        "db",
        "def route, the same query on a sync Session (thread pool)",
        (pool(1.0, Cpu.CORE),),
        pattern="good",
        pg_phases=(pool(1.0),),  # 40 tokens, 40 connections
    ),
    # Seed 002: an external service (a second local server answering after 1 s).
    Scenario(
        "ext-requests-in-async",
        "/external/requests-in-async",
        "external",
        "async def route, requests.get to the slow upstream via a sync helper",
        (loop(1.0),),
        pattern="bad",
        stalls=True,
        fix="a shared httpx.AsyncClient created in lifespan, or a def route",
    ),
    Scenario(
        "ext-async-client",
        "/external/async-client",
        "external",
        "async def route, shared httpx.AsyncClient from lifespan",
        (wait(1.0),),
        pattern="good",
    ),
    Scenario(
        "ext-requests-sync-route",
        "/external/requests-sync-route",
        "external",
        "def route, requests.get on a shared Session (thread pool)",
        (pool(1.0),),
        pattern="good",
    ),
    # Seed 002: CPU-bound work (1 s of pure Python per request).
    Scenario(
        "cpu-inline",
        "/cpu/inline",
        "cpu",
        "async def route, CPU-bound loop inline",
        (loop(1.0, Cpu.GIL),),
        pattern="bad",
        stalls=True,
        fix="a shared ProcessPoolExecutor created in lifespan (run_in_executor)",
    ),
    Scenario(
        "cpu-thread-executor",
        "/cpu/thread-executor",
        "cpu",
        "async def route, run_in_executor on the default thread pool: a half-fix, the GIL"
        " serialises the work and the loop waits for the GIL",
        (gil(1.0, "executor"),),
        pattern="baseline",
        capacities={"executor": min(32, _CORES + 4)},  # the loop's default executor
    ),
    Scenario(
        "cpu-process-pool",
        "/cpu/process-pool",
        "cpu",
        "async def route, run_in_executor on a shared ProcessPoolExecutor",
        (cpu(1.0, "process"),),
        pattern="good",
        capacities={"process": _CORES},  # one worker per core
    ),
    Scenario(
        "cpu-pool-apply",
        "/cpu/pool-apply",
        "cpu",
        "the seed's `with Pool() as pool: pool.apply(...)` in async def: a new pool per request",
        (loop(1.0, Cpu.CORE),),  # the loop waits while a child computes
        pattern="bad",
        stalls=True,
        fix="one ProcessPoolExecutor for the app, awaited with run_in_executor",
        requests_factor=0.2,
        children_hold="loop",
        residual_on="loop",  # starting and joining the pool: the loop waits for it too
    ),
    Scenario(
        "cpu-executor-per-request",
        "/cpu/executor-per-request",
        "cpu",
        "the seed's ThreadPoolExecutor created per request",
        (gil(1.0, "wait"),),  # a new executor per request: no limit but the GIL
        pattern="bad",
        fix="one executor for the app (or the loop's default); CPU work in a process pool",
    ),
    # Seed 002: background tasks (answers at once; the work runs after the response).
    Scenario(
        "bg-async-blocking",
        "/bg/async-blocking",
        "bg",
        "async background task whose body calls time.sleep(1): stalls after the response",
        pattern="bad",
        stalls=True,
        fix="a def task (thread pool) or await an async API in the task",
        after=(loop(1.0),),
        functions=("send_report_blocking",),
        settle=("/bg/stats", "async-blocking", 1),
    ),
    Scenario(
        "bg-async-ok",
        "/bg/async-ok",
        "bg",
        "async background task awaiting asyncio.sleep(1)",
        pattern="good",
        after=(wait(1.0),),
        functions=("send_report",),
        settle=("/bg/stats", "async-ok", 1),
    ),
    Scenario(
        "bg-sync-task",
        "/bg/sync-task",
        "bg",
        "def background task with time.sleep(1) (thread pool)",
        pattern="good",
        after=(pool(1.0),),
        functions=("send_report_sync",),
        settle=("/bg/stats", "sync-task", 1),
    ),
    Scenario(
        "bg-burst",
        "/bg/burst",
        "bg",
        "20 async tasks per request, each blocking 50 ms: overloads the loop",
        pattern="bad",
        stalls=True,
        fix="a bounded runner: a queue drained by a few workers, blocking chunks in the pool",
        after=(loop(1.0),),  # 20 tasks of 50 ms, all queued before anything else
        functions=("burst_chunk",),
        settle=("/bg/stats", "burst", 20),
    ),
    Scenario(
        "bg-burst-bounded",
        "/bg/burst-bounded",
        "bg",
        "the same burst through a bounded queue of workers (thread pool)",
        pattern="good",
        functions=("bounded_chunk",),
        settle=("/bg/stats", "burst-bounded", 20),
    ),
    # Seed 002: middleware, on the hello route at high concurrency.
    Scenario("mw-none", "/mw/none/hello", "middleware", "no middleware", requests_factor=15.0),
    Scenario(
        "mw-asgi",
        "/mw/asgi/hello",
        "middleware",
        "pure-ASGI timing middleware (X-Process-Time)",
        pattern="good",
        requests_factor=15.0,
        functions=("ProcessTimeMiddleware",),
    ),
    Scenario(
        "mw-base",
        "/mw/base/hello",
        "middleware",
        "the seed's @app.middleware('http') X-Process-Time (BaseHTTPMiddleware)",
        pattern="bad",
        fix="a pure-ASGI middleware class that wraps send",
        requests_factor=15.0,
        functions=("add_process_time_header",),
    ),
    # Seed 001: thread-pool exhaustion.
    Scenario(
        "pool-default",
        "/pool/sync-task",
        "pool",
        "def route, time.sleep(5), anyio's default 40 thread tokens",
        (pool(5.0),),
    ),
    Scenario(
        "pool-raised",
        "/pool/sync-task",
        "pool",
        "the same route with the limiter raised to 100 tokens in lifespan",
        (pool(5.0),),
        pattern="good",
        server_env={"LOOPSIGHT_LAB_THREADS": "100"},
        pool_size=100,
    ),
    # Seed 002: wrong async/await.
    Scenario(
        "await-missing",
        "/await/missing",
        "await",
        "a project coroutine called without await: 200 at once, the work never runs",
        pattern="bad",
        fix="await the coroutine (or schedule it as a task you keep a reference to)",
    ),
    Scenario(
        "await-fixed",
        "/await/fixed",
        "await",
        "the same coroutine awaited",
        (wait(0.5),),
        pattern="good",
    ),
)

"""Every scenario of the lab, grouped by theme, in the order a run measures them.

("Catalogue" is the checker's word, for its table of blocking calls.)"""

CATALOGUE = SCENARIOS  # the old name, still imported by tests/check/test_lab_app.py

DEFAULT_GROUPS: tuple[str, ...] = ("hello", "cases", "tasks")
"""The seeds' own experiment, what ``loopsight lab`` runs when no scenario is named."""

GROUPS: tuple[str, ...] = tuple(dict.fromkeys(s.group for s in SCENARIOS))


def select(names: Iterable[str] = (), groups: Iterable[str] = ()) -> list[Scenario]:
    """The scenarios named or in the groups named (``all`` for every group), in the
    order of SCENARIOS; the seeds' own groups when nothing is named."""
    wanted, wanted_groups = list(names), list(groups)
    known = [s.name for s in SCENARIOS]
    for name in wanted:
        if name not in known:
            raise LoopsightError(
                f"unknown scenario {name!r}: choose from {', '.join(known)} (see --list)"
            )
    for group in wanted_groups:
        if group not in GROUPS and group != "all":
            raise LoopsightError(f"unknown group {group!r}: choose from {', '.join(GROUPS)} or all")
    if "all" in wanted_groups:
        return list(SCENARIOS)
    if not wanted and not wanted_groups:
        wanted_groups = list(DEFAULT_GROUPS)
    return [s for s in SCENARIOS if s.name in wanted or s.group in wanted_groups]
