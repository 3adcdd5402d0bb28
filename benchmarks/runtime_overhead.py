"""What does the runtime instrumentation cost? wrk against one FastAPI "hello" route, served
by uvicorn (one worker) in twelve variants measured in the same run, interleaved in rounds:

  bare           the app alone
  defaults       loopsight.instrument(app) with its defaults (no timing headers; OTel on but
                 idle: no tracer provider is set), plus the metrics/stalls/dashboard/trace
                 endpoints, which cost a request only a prefix check
  headers        the same with Server-Timing + X-Process-Time turned on (what the headers cost)
  thread-sampler the defaults, with stalls sampled by a monitor thread, as loopsight does for a
                 loop off the main thread (what that thread costs)
  loopsight-otel the defaults inside OpenTelemetryMiddleware, with the OTel SDK's tracer
                 provider set and a no-op span exporter: loopsight reads each request's span
  otel-sdk       the same without loopsight: what loopsight-otel is compared with
  instrumentator prometheus-fastapi-instrumentator: Instrumentator().instrument(app).expose(app)
  otel           opentelemetry-instrumentation-asgi OpenTelemetryMiddleware (API only: no SDK,
                 so spans are no-ops; the cheapest OTel configuration)
  seed           the seed article's @app.middleware("http") X-Process-Time middleware
  passthrough    a pure-ASGI middleware that only awaits the app: what one more layer in
                 Starlette's middleware stack costs, whatever it does
  empty-mw       a pure-ASGI middleware that only wraps send and reads the status: the floor
                 for any pure-Python middleware that measures requests
  static-headers the same, also appending two constant headers as long as loopsight's: the
                 floor for any pure-Python middleware that adds those two headers

Prints each variant's median requests/s and its ratio to bare; the goals (issue 12): server CPU
per request of defaults <= 1.03 x bare's, of headers <= 1.08 x. Because other processes may
share the machine, it also prints the server's CPU time per request (utime + stime from /proc
over the same run), and its minimum over the rounds, which interference from other processes
can only raise.

    python benchmarks/runtime_overhead.py [--duration 10] [--rounds 3] [--connections 50]
    python benchmarks/runtime_overhead.py --in-process-only

Then, since a shared machine makes requests/s swing, the same apps are called in-process
(no server, no socket: the ASGI app awaited directly on uvloop) and the process CPU time per
request is reported, minimum over interleaved rounds: the figure interference cannot lower.

Needs wrk (apt-get install wrk) and pip install -e '.[dev,bench]' (the instrumentator, the OTel
ASGI middleware and SDK).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

from loopsight.server import UvicornServer

VARIANTS = (
    "bare",
    "defaults",
    "headers",
    "thread-sampler",
    "loopsight-otel",
    "otel-sdk",
    "instrumentator",
    "otel",
    "seed",
    "passthrough",
    "empty-mw",
    "static-headers",
)

APP = """
import os
from time import time

from fastapi import FastAPI, Request

app = FastAPI()


@app.get("/hello")
async def hello():
    return {"hello": "world"}


MODE = os.environ["BENCH_MODE"]
if MODE in ("loopsight-otel", "otel-sdk"):
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

    class Discard(SpanExporter):
        def export(self, spans):
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(Discard()))
    trace.set_tracer_provider(provider)
if MODE in ("defaults", "headers", "thread-sampler", "loopsight-otel"):
    import loopsight

    headers = MODE == "headers"
    app = loopsight.instrument(
        app,
        endpoints=["metrics", "stalls", "dashboard", "trace"],
        token="bench-token",
        server_timing=headers,
        process_time=headers,
        sampler="thread" if MODE == "thread-sampler" else "auto",
        threshold_ms=float(os.environ.get("BENCH_THRESHOLD_MS", "100")),
    )
    if os.environ.get("BENCH_TIMERS") == "off":  # runtime_instructions.py: see there
        from loopsight.runtime import get_runtime
        from loopsight.runtime.watchdog import Watchdog

        Watchdog.interval = property(lambda self: 3600.0)
        get_runtime().watchdog.tick_interval = 3600.0
if MODE in ("otel", "otel-sdk", "loopsight-otel"):
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    app.add_middleware(OpenTelemetryMiddleware)  # outermost: the server span wraps loopsight
if MODE == "instrumentator":
    from prometheus_fastapi_instrumentator import Instrumentator

    Instrumentator().instrument(app).expose(app)
elif MODE == "seed":

    @app.middleware("http")
    async def add_process_time_header(request: Request, call_next):
        start_time = time()
        response = await call_next(request)
        process_time = time() - start_time
        response.headers["X-Process-Time"] = str(process_time)
        return response

elif MODE == "passthrough":

    class Passthrough:
        def __init__(self, app):
            self.app = app

        async def __call__(self, scope, receive, send):
            await self.app(scope, receive, send)

    app.add_middleware(Passthrough)
elif MODE in ("empty-mw", "static-headers"):
    EXTRA = [
        (b"server-timing", b"total;dur=0.123, stall;dur=0.000"),
        (b"x-process-time", b"0.000123"),
    ]

    class Floor:
        def __init__(self, app, headers):
            self.app = app
            self.headers = headers

        async def __call__(self, scope, receive, send):
            if scope["type"] != "http":
                await self.app(scope, receive, send)
                return
            status = 0
            headers = self.headers

            async def send_wrapper(message):
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                    if headers:
                        message = dict(message)
                        message["headers"] = [*message.get("headers", ()), *EXTRA]
                await send(message)

            await self.app(scope, receive, send_wrapper)

    app.add_middleware(Floor, headers=MODE == "static-headers")
"""

_RPS = re.compile(r"Requests/sec:\s+([0-9.]+)")
_COUNT = re.compile(r"(\d+) requests in")
_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime + stime


def _wrk(url: str, duration: float, connections: int) -> tuple[float, int]:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{duration:g}s", url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rps, count = _RPS.search(out), _COUNT.search(out)
    if rps is None or count is None:
        raise RuntimeError(f"no Requests/sec in wrk output:\n{out}")
    return float(rps.group(1)), int(count.group(1))


_SCOPE = {
    "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
    "method": "GET", "scheme": "http", "path": "/hello", "raw_path": b"/hello",
    "query_string": b"", "root_path": "", "headers": [(b"host", b"bench")],
    "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
}  # fmt: skip


def parse_variants(text: str, always: set[str]) -> tuple[str, ...]:
    """The comma-separated variants in ``text``, plus ``always``, in ``VARIANTS`` order; exits
    with a one-line error on an unknown name."""
    chosen = {v.strip() for v in text.split(",")} | always
    unknown = chosen - set(VARIANTS)
    if unknown:
        sys.exit(f"unknown variant {sorted(unknown)[0]!r}; choose from {', '.join(VARIANTS)}")
    return tuple(v for v in VARIANTS if v in chosen)


def _load(directory: str, variant: str) -> Any:
    os.environ["BENCH_MODE"] = variant
    spec = importlib.util.spec_from_file_location(
        f"bench_app_{variant}", f"{directory}/bench_app.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.app


async def _in_process(apps: dict[str, Any], rounds: int, n: int) -> dict[str, float]:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        return None

    best = {v: float("inf") for v in apps}
    for round_no in range(rounds + 1):  # round 0 warms up
        for variant, app in apps.items():
            start = time.process_time()
            for _ in range(n):
                await app(dict(_SCOPE), receive, send)
                await asyncio.sleep(0)  # as a server would, and the watchdog sees no stall
            per_request = (time.process_time() - start) / n * 1e6
            if round_no:
                best[variant] = min(best[variant], per_request)
    return best


def _report_in_process(directory: str, rounds: int, n: int, chosen: tuple[str, ...]) -> None:
    import uvloop

    # One process shares one runtime, whose sampler is a process-wide choice: a monitor
    # thread would run under every variant, bare included. It is measured with wrk only.
    variants = [v for v in chosen if v != "thread-sampler"]
    apps = {v: _load(directory, v) for v in variants}
    best = uvloop.run(_in_process(apps, rounds, n))
    print()
    print(f"in process, {n} requests x {rounds} rounds, min process CPU per request:")
    print(f"{'variant':15s} {'CPU us/req':>11s} {'extra us':>9s} {'ratio':>7s}")
    for variant in variants:
        extra = best[variant] - best["bare"]
        print(
            f"{variant:15s} {best[variant]:11.1f} {extra:9.1f} {best[variant] / best['bare']:7.3f}"
        )
    mine = best["defaults"] - best["bare"]
    rival = best["instrumentator"] - best["bare"]
    print(f"loopsight extra CPU / instrumentator extra CPU = {mine / rival:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of wrk before each")
    parser.add_argument("--in-process-only", action="store_true", help="skip the wrk part")
    parser.add_argument("--in-process-requests", type=int, default=2000)
    parser.add_argument(
        "--variants",
        default=",".join(VARIANTS),
        help="comma-separated subset to measure (bare, defaults and instrumentator always run)",
    )
    args = parser.parse_args()
    variants = parse_variants(args.variants, {"bare", "defaults", "instrumentator"})
    if args.in_process_only:
        with tempfile.TemporaryDirectory() as directory:
            Path(directory, "bench_app.py").write_text(textwrap.dedent(APP))
            _report_in_process(directory, max(args.rounds, 5), args.in_process_requests, variants)
        return
    if shutil.which("wrk") is None:
        sys.exit("wrk not found: apt-get install wrk")
    results: dict[str, list[float]] = {v: [] for v in variants}
    cpu: dict[str, list[float]] = {v: [] for v in variants}
    with tempfile.TemporaryDirectory() as directory:
        Path(directory, "bench_app.py").write_text(textwrap.dedent(APP))
        for round_no in range(args.rounds):
            # Rotate the order so no variant always runs first (or last) in a round.
            order = variants[round_no % len(variants) :] + variants[: round_no % len(variants)]
            for variant in order:
                env = {"PYTHONPATH": directory, "BENCH_MODE": variant}
                with UvicornServer("bench_app:app", env=env, health_path="/hello") as server:
                    assert server.pid is not None
                    url = f"{server.url}/hello"
                    _wrk(url, args.warmup, args.connections)
                    before = _cpu_seconds(server.pid)
                    rps, count = _wrk(url, args.duration, args.connections)
                    cpu_us = (_cpu_seconds(server.pid) - before) / count * 1e6
                results[variant].append(rps)
                cpu[variant].append(cpu_us)
                print(
                    f"round {round_no + 1} {variant:15s} {rps:10.0f} req/s "
                    f"{cpu_us:8.1f} us CPU/request",
                    flush=True,
                )
    median = {v: statistics.median(r) for v, r in results.items()}
    # Interference from other processes only ever adds CPU time: the minimum is the cost.
    cpu_median = {v: min(c) for v, c in cpu.items()}
    bare = median["bare"]
    print()
    print(
        f"{'variant':15s} {'median req/s':>12s} {'ratio to bare':>14s} {'loss':>7s} "
        f"{'min CPU us/req':>14s} {'CPU ratio':>10s}"
    )
    for variant in variants:
        ratio = median[variant] / bare
        cpu_ratio = cpu_median[variant] / cpu_median["bare"]
        print(
            f"{variant:15s} {median[variant]:12.0f} {ratio:14.3f} {1 - ratio:7.1%} "
            f"{cpu_median[variant]:14.1f} {cpu_ratio:10.3f}"
        )
    loss = 1 - median["defaults"] / bare
    rival = 1 - median["instrumentator"] / bare
    print()
    print(f"loopsight loss {loss:.1%} (goal <= 3%); instrumentator loss {rival:.1%}; ", end="")
    print(f"loopsight / instrumentator loss = {loss / rival:.2f} (goal <= 0.20)" if rival > 0
          else "instrumentator showed no loss")  # fmt: skip
    extra = cpu_median["defaults"] / cpu_median["bare"] - 1
    rival_cpu = cpu_median["instrumentator"] / cpu_median["bare"] - 1
    print(f"CPU per request: loopsight +{extra:.1%}, instrumentator +{rival_cpu:.1%}", end="")
    print(f", ratio {extra / rival_cpu:.2f}" if rival_cpu > 0 else "")
    with tempfile.TemporaryDirectory() as directory:
        Path(directory, "bench_app.py").write_text(textwrap.dedent(APP))
        _report_in_process(directory, max(args.rounds, 5), args.in_process_requests, variants)


if __name__ == "__main__":
    main()
