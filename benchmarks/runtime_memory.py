"""Does the runtime instrumentation keep memory bounded under sustained load? Serves an app with
loopsight fully on (every endpoint, trace ring buffer, stalls), drives it with wrk for 1M
requests over many distinct URLs (a parametrised route with random ids, unmatched random paths,
and a route that stalls now and then), and prints the server's RSS as the count grows.

    python benchmarks/runtime_memory.py [--requests 1000000] [--chunk 20]

Goal: RSS growth after warm-up < 10 MB. Needs wrk (apt-get install wrk).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import urllib.request
from pathlib import Path

from loopsight.server import UvicornServer

APP = """
import random
import time

from fastapi import FastAPI

import loopsight

app = FastAPI()


@app.get("/items/{item_id}")
async def item(item_id: int):
    if item_id % 5000 == 0:
        time.sleep(0.12)  # a stall now and then, so the stall ring buffer fills too
    return {"id": item_id}


app = loopsight.instrument(
    app, endpoints=["metrics", "stalls", "dashboard", "trace"], token="bench-token"
)
"""

LUA = """
math.randomseed(os.time())
request = function()
  local r = math.random(1, 10)
  if r <= 7 then
    return wrk.format("GET", "/items/" .. math.random(1, 1000000000))
  elseif r <= 9 then
    return wrk.format("GET", "/nowhere/" .. math.random(1, 1000000000))
  else
    return wrk.format("GET", "/_loopsight/stalls?token=wrong" .. math.random(1, 1000))
  end
end
"""

_REQUESTS = re.compile(r"(\d+) requests in")


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


MAX_STALLS = 1000  # Runtime(max_stalls=...) default


def _stall_count(base: str) -> int:
    url = f"{base}/_loopsight/stalls?token=bench-token"
    with urllib.request.urlopen(url, timeout=30) as response:
        return min(int(json.load(response)["stall_count"]), MAX_STALLS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--chunk", type=float, default=20.0, help="seconds per wrk run")
    parser.add_argument("--warmup", type=int, default=100_000, help="requests before baseline")
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk not found: apt-get install wrk")
    with tempfile.TemporaryDirectory() as directory:
        Path(directory, "mem_app.py").write_text(textwrap.dedent(APP))
        script = Path(directory, "paths.lua")
        script.write_text(LUA)
        env = {"PYTHONPATH": directory}
        with UvicornServer("mem_app:app", env=env, health_path="/items/1") as server:
            assert server.pid is not None
            done = 0
            baseline: int | None = None
            print(
                f"{'requests':>10s} {'RSS MiB':>8s} {'growth MiB':>11s} {'stalls':>7s}", flush=True
            )
            while done < args.requests:
                out = subprocess.run(
                    ["wrk", "-t1", f"-c{args.connections}", f"-d{args.chunk:g}s",
                     "-s", str(script), server.url],
                    capture_output=True, text=True, check=True,
                ).stdout  # fmt: skip
                match = _REQUESTS.search(out)
                if match is None:
                    sys.exit(f"no request count in wrk output:\n{out}")
                done += int(match.group(1))
                rss = _rss_kib(server.pid)
                if baseline is None and done >= args.warmup:
                    baseline = rss
                growth = (rss - baseline) / 1024 if baseline is not None else 0.0
                stalls = _stall_count(server.url)
                print(f"{done:10d} {rss / 1024:8.1f} {growth:11.1f} {stalls:7d}", flush=True)
    assert baseline is not None
    print(f"\nRSS growth after {args.warmup} warm-up requests: {growth:.1f} MiB (goal < 10 MB)")
    print(f"stalls kept: {stalls} (the ring buffer keeps {MAX_STALLS}; it grows until full)")


if __name__ == "__main__":
    main()
