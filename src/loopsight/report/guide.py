"""The lab guide: one section per pattern of the seeds, each with the table measured on this
machine, the command that produced it, and the fix."""

from __future__ import annotations

from dataclasses import dataclass

from loopsight.lab.results import LabRun
from loopsight.lab.scenarios import Scenario
from loopsight.report._cells import cost_note, markdown_table

__all__ = ["SECTIONS", "render_guide"]


@dataclass(frozen=True)
class Section:
    """What the guide says about one scenario group."""

    title: str
    seed: str
    lesson: str
    fix: str = ""


SECTIONS: dict[str, Section] = {
    "hello": Section(
        "Hello: sync and async routes with no I/O",
        "Seed 000 starts with the same trivial body as `def` and as `async def`.",
        "With no I/O both are fast; the `def` route pays a thread hop. These rows are the "
        "baseline every other figure is set against, and where the calibration takes a "
        "request's loop cost when a scenario's own is lost in what the idle server spends.",
    ),
    "cases": Section(
        "Seed 000's four cases: blocking and non-blocking I/O",
        "Seed 000 measures `ab -n 200 -c 100` against a route that calls `sync_io_heavy()` "
        "(`time.sleep(3)`) twice, as `def` (case 1) and as `async def` (case 2), then with "
        "`await asyncio.sleep` (case 3) and with `run_in_threadpool` (case 4): 36 / 1200 / "
        "18 / 24 s.",
        "Case 2 holds the loop for 6 s per request, so 200 requests take 1200 s whatever the "
        "concurrency. The article's other figures are ApacheBench's: ab sends one probe request "
        "alone before opening the other 99 connections, which adds one request time (6 s) to "
        "the 30 / 12 / 18 s that all-at-once gives (`--open all`). Case 1 is bounded by anyio's "
        "40 thread tokens (5 rounds of 6 s), case 4 by the same tokens for its 3 s threaded half.",
        "```python\n@app.get('/')\nasync def read_root():\n"
        "    await run_in_threadpool(sync_io_heavy)  # or make the I/O async\n"
        "    await async_io_heavy()\n    return {'message': 'Hello World'}\n```",
    ),
    "tasks": Section(
        "Seed 001: a 5-second task as `def` and as `async def`",
        "Seed 001 contrasts `def sync_task(): time.sleep(5)` with "
        "`async def async_task(): await asyncio.sleep(5)`.",
        "The `def` route does not block the loop, but each request holds one of 40 thread "
        "tokens for 5 s: at c=100 the rest queue (see the thread-pool section).",
    ),
    "db": Section(
        "Database access",
        "Seed 002: 'database queries executing synchronously instead of asynchronously'. Its "
        'own fix, `await db.execute("SELECT ...")`, fails on SQLAlchemy 2: raw SQL needs '
        "`text()`.",
        "A sync driver inside `async def` holds the loop for the whole query. An "
        "`AsyncSession` on aiosqlite / asyncpg, or a `def` route with a sync `Session`, leaves "
        "it free. With SQLite the query is CPU work in C outside the GIL, so the cores bound "
        "the fixed routes; with PostgreSQL (`--db postgresql://...`, `pg_sleep`) the "
        "connection pool does. aiosqlite runs a thread per connection, and a hundred queries at "
        "once leave the loop's thread waiting for a core: the watchdog reports stalls at the "
        "`await` marked starved, and the verdict reads 'loop free; cores saturated'. The model "
        "shares each query's CPU, measured at c=1, over the cores the lab gets; what it leaves "
        "out is that the scheduler is not evenly fair (threads that sleep often get more than "
        "their share, a hundred busy ones less). On PostgreSQL SQLAlchemy and the driver spend "
        "CPU on each query that `--scale` does not shrink; the calibration counts it. "
        "That route opens its `Session` itself: with one from a yield dependency, FastAPI "
        "validates the response in the thread pool before the session closes, and at c=100 "
        "(more requests than threads) the lab deadlocked on PostgreSQL until the pool timed "
        "out (fastapi/fastapi#3205, #12066).",
        "```python\nasync def get_user(db: AsyncSession, user_id: int):\n"
        "    result = await db.execute(text('SELECT * FROM users WHERE id = :id'), "
        "{'id': user_id})\n    return result.first()\n```",
    ),
    "external": Section(
        "Calling an external service",
        "Seed 002: 'unexpected blocking behavior when interacting with external services'.",
        "`requests.get` inside `async def` holds the loop while the upstream thinks (1 s here, "
        "served by a second local server). A shared `httpx.AsyncClient` created in lifespan "
        "waits without holding anything; a `def` route with `requests` waits in the thread pool. "
        "The model counts the CPU a request costs the loop, the load driver and the upstream "
        "server, measured at c=1. What it leaves out: httpx's pool costs more CPU per request "
        "as concurrency grows (encode/httpx#3215), so at c=100 the async client measures "
        "above the model.",
        "```python\n@asynccontextmanager\nasync def lifespan(app):\n"
        "    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=100)) as client:\n"
        "        app.state.http = client\n        yield\n```",
    ),
    "cpu": Section(
        "CPU-bound work",
        "Seed 002 suggests a thread pool and `with Pool() as pool: pool.apply(...)` inside "
        "`async def`.",
        "Inline CPU work holds the loop. A thread pool frees the loop only between GIL "
        "switches and runs no faster. `Pool().apply` inside `async def` is worse than inline: "
        "the loop is held while a new pool forks, computes and shuts down. A "
        "`ThreadPoolExecutor` per request adds threads and still contends for the GIL. One "
        "`ProcessPoolExecutor` for the app runs the work on every core.",
        "```python\n@asynccontextmanager\nasync def lifespan(app):\n"
        "    with ProcessPoolExecutor() as pool:\n        app.state.pool = pool\n        yield\n\n"
        "result = await asyncio.get_running_loop().run_in_executor(app.state.pool, cpu_task)\n```",
    ),
    "bg": Section(
        "Background tasks",
        "Seed 002: 'background tasks preventing new requests from being processed'.",
        "The client has its answer before the task runs, so the route looks fast; an async task "
        "with a blocking body then stalls every other request. A burst of small blocking tasks "
        "runs back to back on the loop. A `def` task, an awaiting async task, or a bounded "
        "runner (a queue drained by a few workers that offload each chunk) keep the loop free. "
        "Here 'loop blocked' covers the load and the background work it left behind. The model "
        "runs a request's background work in the step that sent its answer (Starlette runs "
        "the tasks right after sending), so a blocking task delays every request behind it.",
    ),
    "middleware": Section(
        "Middleware",
        "Seed 002 times requests with `@app.middleware('http')`.",
        "`@app.middleware('http')` is `BaseHTTPMiddleware`: every request goes through extra "
        "tasks and memory streams. A pure-ASGI middleware that wraps `send` does the same job "
        "at almost no cost. These rows run 15 times as many requests on a hello route.",
        "```python\nclass ProcessTime:\n    def __init__(self, app):\n        self.app = app\n\n"
        "    async def __call__(self, scope, receive, send):\n"
        "        if scope['type'] != 'http':\n"
        "            return await self.app(scope, receive, send)\n"
        "        start = time.perf_counter()\n\n        async def send_timed(message):\n"
        "            if message['type'] == 'http.response.start':\n"
        "                elapsed = str(time.perf_counter() - start).encode()\n"
        "                message['headers'] = [*message.get('headers', []), "
        "(b'x-process-time', elapsed)]\n"
        "            await send(message)\n\n"
        "        await self.app(scope, receive, send_timed)\n```",
    ),
    "pool": Section(
        "Thread-pool exhaustion",
        "Seed 001: a blocking `def` route 'consumes a worker thread and limits concurrency'.",
        "anyio lends 40 thread tokens per loop. At c=100 with 5 s per request, 60 requests wait "
        "for a token, and the model predicts the rounds. Raising the limit in lifespan shortens "
        "the queue (at the cost of threads).",
        "```python\n@asynccontextmanager\nasync def lifespan(app):\n"
        "    anyio.to_thread.current_default_thread_limiter().total_tokens = 100\n    yield\n```",
    ),
    "await": Section(
        "A missing `await`",
        "Seed 002: 'incorrect use of async and await causing execution delays'.",
        "Calling a coroutine without `await` creates it and drops it: the client gets 200 at "
        "once, the work never runs, and Python logs `RuntimeWarning: coroutine ... was never "
        "awaited` (counted under 'server log' in the JSON report).",
    ),
}


def _describe(scenario: Scenario) -> str:
    fix = f" Fix: {scenario.fix}." if scenario.fix else ""
    return f"- `{scenario.name}` ({scenario.pattern}): `{scenario.route}`, {scenario.summary}.{fix}"


def render_guide(lab: LabRun, command: str) -> str:
    """The guide as Markdown, from one lab run that covered the groups to describe."""
    lines = [
        "# The seeds, measured",
        "",
        "Every figure below was measured on this repository's machine (2 cores) by one run of",
        "",
        f"    {command}",
        "",
        f"n={lab.n} requests over c={lab.c} connections, connections opened `{lab.open_mode}`, "
        f"time scale {lab.scale:g}, database {lab.database}. Times are in the seeds' units "
        "(measured seconds divided by the scale); rows without I/O are in real seconds. The "
        f"model includes {cost_note(lab)}."
        if lab.request_cost_s
        else "",
        "",
        "Columns: **check** is what `loopsight check` reports on the route's code; **stalls** is "
        "what the runtime watchdog attributed to the route (count, blocked time, culprit line).",
    ]
    for group, section in SECTIONS.items():
        runs = [run for run in lab.runs if run.scenario.group == group]
        if not runs:
            continue
        lines += ["", f"## {section.title}", "", section.seed, "", section.lesson, ""]
        lines += markdown_table(runs)
        lines += [""]
        lines += [_describe(run.scenario) for run in runs]
        if section.fix:
            lines += ["", section.fix]
    if lab.aborted:
        lines += ["", f"**Run cut short:** {lab.aborted}"]
    return "\n".join(lines) + "\n"
