"""What does the runtime instrumentation cost, counted in instructions rather than seconds?

`runtime_overhead.py` times the variants with wrk; on a shared two-core machine its req/s and
CPU figures swing by several percent between runs, which is the size of the goal (a loss of
<= 3%). This script counts the CPU instructions the uvicorn server executes per request, under
valgrind's callgrind, for the same apps (it imports `runtime_overhead.APP` and `VARIANTS`). The
count is repeatable whatever else the machine is doing.

Each variant is served by one uvicorn worker running under callgrind. After a warm-up, the
counters are zeroed, the server is loaded with N keep-alive requests from loopsight's own
driver (then, for loopsight, its metrics are scraped once, which folds the queued requests into
the aggregates as its tick would), and the counters are dumped; then the same with 2N requests.
The difference, divided by N, is the cost of a request, start-up and the scrape cancelled out.

Work that runs on a timer (the watchdog's 10 ms heartbeat and 0.1 s tick) is kept out of that
count: under valgrind a second holds ~50 times fewer requests, so it would weigh ~50 times too
much. It is switched off for the load (and the stall threshold raised to 60 s, or every slow
loop iteration would be sampled as a stall), and measured on its own: a second server, timers
on, idle for 10 s. Its cost per second is the same at full speed; the report divides it by a
request rate you give (--rps, e.g. bare's req/s from runtime_overhead.py).

Instructions are not time: a cache miss or a syscall costs more than its instruction count
says, and the kernel's share of each request is not counted at all. This is the figure to
compare variants with, not a substitute for the wrk run.

    python benchmarks/runtime_instructions.py [--requests 2000] [--rps 7800] [--variants ...]

Needs valgrind (apt-get install valgrind) and the packages runtime_overhead.py needs.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from runtime_overhead import APP, VARIANTS, parse_variants

from loopsight.load import LoadConfig, run_load_sync
from loopsight.server import UvicornServer

LOOPSIGHT = ("defaults", "headers", "thread-sampler", "loopsight-otel")
IDLE_SECONDS = 10.0
_TOTALS = re.compile(r"^(?:totals|summary):\s+(\d+)", re.MULTILINE)


class _CallgrindServer(UvicornServer):
    """uvicorn under ``valgrind --tool=callgrind``, dumping to ``out`` on request."""

    def __init__(self, out: Path, **kwargs: object) -> None:
        super().__init__("bench_app:app", health_path="/hello", startup_timeout=300, **kwargs)  # type: ignore[arg-type]
        self.out = out

    def _command(self) -> list[str]:
        valgrind = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={self.out}.%p"]
        return [*valgrind, "--dump-instr=no", "--dump-line=no", *super()._command()]

    def dump(self, tag: str) -> int:
        """Dump the counters since the last zeroing; return the instructions counted."""
        assert self.pid is not None
        before = set(self.out.parent.glob(f"{self.out.name}.*"))
        subprocess.run(["callgrind_control", "--dump=" + tag, str(self.pid)], check=True,
                       capture_output=True)  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            new = set(self.out.parent.glob(f"{self.out.name}.*")) - before
            for path in new:
                match = _TOTALS.search(path.read_text())
                if match:
                    return int(match.group(1))
            time.sleep(0.2)
        raise RuntimeError(f"callgrind wrote no dump for {tag}")

    def zero(self) -> None:
        assert self.pid is not None
        subprocess.run(["callgrind_control", "--zero", str(self.pid)], check=True,
                       capture_output=True)  # fmt: skip


def _count(server: _CallgrindServer, variant: str, url: str, n: int, connections: int) -> int:
    """Instructions for ``n`` requests (and, for loopsight, one metrics scrape after them)."""
    server.zero()
    result = run_load_sync(LoadConfig(url, n=n, c=connections, timeout=120))
    failed = result.summary().failed
    if failed or result.aborted:
        raise RuntimeError(f"{variant}: {failed} failed requests {result.aborted or ''}")
    if variant in LOOPSIGHT:  # fold the queued requests into the metrics, as a tick would
        metrics = f"{server.url}/_loopsight/metrics?token=bench-token"
        with urllib.request.urlopen(metrics, timeout=120) as response:
            response.read()
    return server.dump(f"{variant}-{n}")


def _measure(directory: str, variant: str, requests: int, connections: int) -> tuple[float, float]:
    """Return (instructions per request, timer instructions per idle second)."""
    # Our PYTHONPATH after the app's: point it at another checkout's src/ to count that one.
    path = os.pathsep.join(p for p in (directory, os.environ.get("PYTHONPATH", "")) if p)
    base = {"PYTHONPATH": path, "BENCH_MODE": variant, "BENCH_THRESHOLD_MS": "60000"}
    out = Path(directory, f"cg-{variant}")
    with _CallgrindServer(out, env={**base, "BENCH_TIMERS": "off"}) as server:
        url = f"{server.url}/hello"
        run_load_sync(LoadConfig(url, n=max(200, requests // 5), c=connections, timeout=120))
        # Two runs of different lengths, each ending with a scrape: the difference is the
        # cost of the extra requests alone.
        short = _count(server, variant, url, requests, connections)
        long = _count(server, variant, url, 2 * requests, connections)
    per_request = (long - short) / requests
    if variant not in LOOPSIGHT:
        return per_request, 0.0
    with _CallgrindServer(out, env=base) as server:  # timers on, no requests
        server.zero()
        started = time.monotonic()
        time.sleep(IDLE_SECONDS)
        idle = server.dump("idle")
        return per_request, idle / (time.monotonic() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests counted per variant")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--rps", type=float, default=7800.0, help="full-speed req/s, for timers")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    args = parser.parse_args()
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        sys.exit("valgrind not found: apt-get install valgrind")
    variants = parse_variants(args.variants, {"bare"})
    per_request: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as directory:
        Path(directory, "bench_app.py").write_text(textwrap.dedent(APP))
        for variant in variants:
            loaded, timers = _measure(directory, variant, args.requests, args.connections)
            per_request[variant] = loaded + timers / args.rps
            print(
                f"{variant:15s} {loaded:10.0f} instructions/request under load; "
                f"timers {timers:10.0f} instructions/s",
                flush=True,
            )
    bare = per_request["bare"]
    print(f"\nper request, timers charged at {args.rps:g} req/s:")
    print(f"{'variant':15s} {'instr/req':>10s} {'extra':>8s} {'ratio':>7s}")
    for variant in variants:
        value = per_request[variant]
        print(f"{variant:15s} {value:10.0f} {value - bare:8.0f} {value / bare:7.3f}")
    if "defaults" in per_request and "instrumentator" in per_request:
        mine = per_request["defaults"] - bare
        rival = per_request["instrumentator"] - bare
        print(f"\nloopsight extra / instrumentator extra = {mine / rival:.2f} (goal <= 0.20)")


if __name__ == "__main__":
    main()
