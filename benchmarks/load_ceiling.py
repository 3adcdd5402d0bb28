"""How close does ``loopsight bench`` get to wrk against the same uvicorn server?

Starts one raw-ASGI "hello" app (``hello_app.py``) under uvicorn with httptools and uvloop, then
runs, against that same server and alternately, ``wrk`` and ``loopsight bench --duration`` with
the same connection count and duration, and prints both rates and the ratio loopsight / wrk.
Both drivers are single-threaded here (``wrk -t1``) unless ``--wrk-threads`` says otherwise.
Goal: ratio >= 0.8, i.e. the driver is not the bottleneck. Not a test: the numbers depend on the
machine and on what else runs on it.

    python benchmarks/load_ceiling.py -c 50 -d 5 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
sys.path.insert(0, str(SRC))

from loopsight.server import UvicornServer  # noqa: E402 - after the src path is set


def ensure_wrk() -> str:
    """Path to ``wrk``, installing the Debian package when possible."""
    found = shutil.which("wrk")
    if found:
        return found
    if shutil.which("apt-get") and os.geteuid() == 0:
        print("wrk not found: apt-get install -y wrk", file=sys.stderr)
        subprocess.run(["apt-get", "install", "-y", "wrk"], check=False, capture_output=True)
        found = shutil.which("wrk")
        if found:
            return found
    sys.exit("load_ceiling: wrk is needed: `sudo apt-get install -y wrk` (Debian/Ubuntu)")


def _pinned(cpu: int | None) -> Callable[[], None] | None:
    """A preexec_fn that pins the child to ``cpu`` (Linux), or None."""
    if cpu is None:
        return None
    return lambda: os.sched_setaffinity(0, {cpu})


def _cpu_s(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def run_wrk(
    wrk: str, url: str, connections: int, duration: float, threads: int, cpu: int | None = None
) -> tuple[float, float]:
    """Requests per second that wrk measured, and wrk's CPU seconds per request."""
    cmd = [wrk, f"-t{threads}", f"-c{connections}", f"-d{duration:g}s", url]
    before = _cpu_s(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(cmd, check=True, capture_output=True, text=True, preexec_fn=_pinned(cpu))
    used = _cpu_s(resource.RUSAGE_CHILDREN) - before
    out = proc.stdout
    match = re.search(r"Requests/sec:\s*([\d.]+)", out)
    count = re.search(r"(\d+) requests in", out)
    if match is None or count is None:
        sys.exit(f"load_ceiling: cannot read wrk's output:\n{out}")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)", out)
    if errors:
        print(f"  wrk reported: {errors.group(0)}", file=sys.stderr)
    return float(match.group(1)), used / int(count.group(1))


def loopsight_cpu(url: str, connections: int, duration: float) -> float:
    """CPU seconds per request of the load driver itself, run in this process (no start-up)."""
    from loopsight.load import LoadConfig, run_load_sync

    before = _cpu_s(resource.RUSAGE_SELF)
    result = run_load_sync(LoadConfig(url, n=None, c=connections, duration=duration))
    return (_cpu_s(resource.RUSAGE_SELF) - before) / result.summary().requests


def bench_run(
    url: str, connections: int, duration: float, src: Path = SRC, cpu: int | None = None
) -> tuple[dict[str, Any], resource.struct_rusage]:
    """Run ``loopsight bench --duration`` from ``src``: its JSON report and its resource usage."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")]),
    }
    with tempfile.TemporaryDirectory() as tmp:
        out_file = Path(tmp) / "bench.json"
        cmd = [sys.executable, "-m", "loopsight", "bench", url, "--duration", f"{duration:g}"]
        cmd += ["-c", str(connections), "--json", str(out_file)]
        with (Path(tmp) / "stderr").open("w+") as err:
            proc = subprocess.Popen(
                cmd, env=env, stdout=subprocess.DEVNULL, stderr=err, preexec_fn=_pinned(cpu)
            )
            _, status, usage = os.wait4(proc.pid, 0)  # the child's own peak RSS and CPU
            proc.returncode = os.waitstatus_to_exitcode(status)
            err.seek(0)
            if proc.returncode != 0 or not out_file.exists():
                sys.exit(f"loopsight bench failed ({proc.returncode}): {err.read()}")
        data: dict[str, Any] = json.loads(out_file.read_text())
    if data["errors"]:
        print(f"  loopsight reported errors: {data['errors']}", file=sys.stderr)
    return data, usage


def run_loopsight(url: str, connections: int, duration: float, cpu: int | None = None) -> float:
    """Requests per second that ``loopsight bench --duration`` measured (from its JSON)."""
    data, _ = bench_run(url, connections, duration, cpu=cpu)
    rps: float = data["rps"]
    return rps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-c", "--connections", type=int, default=50)
    parser.add_argument("-d", "--duration", type=float, default=5.0, help="seconds per run")
    parser.add_argument("--rounds", type=int, default=3, help="wrk/loopsight pairs to run")
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument(
        "--pin",
        action="store_true",
        help="Linux: server on CPU 0, the load driver on CPU 1 (less scheduling noise)",
    )
    args = parser.parse_args()
    client_cpu = 1 if args.pin else None

    wrk = ensure_wrk()
    server_args = ["--http", "httptools", "--loop", "uvloop"]
    env = {"PYTHONPATH": str(HERE)}
    with UvicornServer("hello_app:app", env=env, extra_args=server_args) as server:
        url = server.url + "/"
        if args.pin and server.pid is not None:
            os.sched_setaffinity(server.pid, {0})
        print(f"server: uvicorn --http httptools --loop uvloop hello_app:app at {url}")
        pinned = ", server pinned to CPU 0, drivers to CPU 1" if args.pin else ""
        print(f"load: {args.connections} connections, {args.duration:g} s per run{pinned}\n")
        run_wrk(wrk, url, args.connections, 1.0, args.wrk_threads, client_cpu)  # warm-up
        ratios: list[float] = []
        wrk_cpus: list[float] = []
        threads = args.wrk_threads
        print(f"{'round':>5}  {'wrk rps':>10}  {'loopsight rps':>13}  {'ratio':>6}")
        for i in range(args.rounds):
            # alternate the order so that drift in the machine's load favours neither
            if i % 2 == 0:
                w, w_cpu = run_wrk(wrk, url, args.connections, args.duration, threads, client_cpu)
                ls = run_loopsight(url, args.connections, args.duration, client_cpu)
            else:
                ls = run_loopsight(url, args.connections, args.duration, client_cpu)
                w, w_cpu = run_wrk(wrk, url, args.connections, args.duration, threads, client_cpu)
            wrk_cpus.append(w_cpu)
            ratios.append(ls / w)
            print(f"{i + 1:>5}  {w:>10.0f}  {ls:>13.0f}  {ls / w:>6.2f}")
        if args.pin:
            os.sched_setaffinity(0, {1})
        ls_cpu = loopsight_cpu(url, args.connections, min(args.duration, 3.0))
    print(f"\nratio loopsight/wrk: median {statistics.median(ratios):.2f} (goal >= 0.8)")
    # CPU per request does not depend on what else the machine runs, unlike the rates
    wrk_us = statistics.median(wrk_cpus) * 1e6
    print(
        f"driver CPU per request (user+sys): wrk {wrk_us:.1f} us, loopsight {ls_cpu * 1e6:.1f} us"
    )


if __name__ == "__main__":
    main()
