"""Does ``loopsight bench`` run long in constant memory, at wrk's speed?

Starts one raw-ASGI "hello" app (``hello_app.py``) under uvicorn with httptools and uvloop and,
against that same server in one run: ``wrk`` for the short duration, ``loopsight bench
--duration SHORT`` and ``loopsight bench --duration LONG`` at full speed (closed loop), ``wrk``
again. Prints each run's requests/s, its rate over wrk's (the mean of the two wrk runs) and its
peak RSS and CPU per request, then the difference of the two peaks. Goals: peaks within 10 MB,
loopsight >= 0.95x wrk. ``--baseline-src DIR`` also runs another checkout's ``loopsight`` (its
``src`` directory) for the short duration, to compare the driver before and after a change.

Setup (Debian/Ubuntu): ``apt-get update && apt-get install -y wrk``, and
``pip install -e '.[bench]'``. Not a test: the numbers depend on what else the machine runs.

    python benchmarks/bench_memory.py                       # 10 s vs 120 s, -c 50
    python benchmarks/bench_memory.py --short 3 --long 15   # quicker, while developing
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
sys.path.insert(0, str(SRC))

from load_ceiling import bench_run, ensure_wrk, run_wrk  # noqa: E402 - beside this script

from loopsight.server import UvicornServer  # noqa: E402 - after the src path is set


@dataclass(frozen=True)
class Measured:
    """One ``loopsight bench`` run: what it reported and the most memory it held."""

    label: str
    requests: int
    rps: float
    peak_rss_mb: float
    cpu_us: float  # user + system CPU per request, start-up included


def run_bench(label: str, url: str, duration: float, connections: int, src: Path) -> Measured:
    """Run ``loopsight bench`` from ``src`` as a child process; its peak RSS from wait4()."""
    data, usage = bench_run(url, connections, duration, src)
    cpu_us = (usage.ru_utime + usage.ru_stime) / max(data["n"], 1) * 1e6
    return Measured(label, data["n"], data["rps"], usage.ru_maxrss / 1024, cpu_us)  # KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-c", "--connections", type=int, default=50)
    parser.add_argument("--short", type=float, default=10.0, help="seconds of the short run")
    parser.add_argument("--long", type=float, default=120.0, help="seconds of the long run")
    parser.add_argument("--baseline-src", type=Path, help="another checkout's src directory")
    args = parser.parse_args()
    wrk = ensure_wrk()
    server_args = ["--http", "httptools", "--loop", "uvloop"]
    with UvicornServer(
        "hello_app:app", env={"PYTHONPATH": str(HERE)}, extra_args=server_args
    ) as server:
        url = server.url + "/"
        c = args.connections
        print(f"server: uvicorn --http httptools --loop uvloop hello_app:app at {url}, -c {c}\n")
        run_wrk(wrk, url, c, 1.0, 1)  # warm-up
        wrk_rates = [run_wrk(wrk, url, c, args.short, 1)[0]]
        runs = [run_bench(f"loopsight {args.short:g} s", url, args.short, c, SRC)]
        runs.append(run_bench(f"loopsight {args.long:g} s", url, args.long, c, SRC))
        if args.baseline_src is not None:
            label = f"baseline {args.short:g} s"
            runs.append(run_bench(label, url, args.short, c, args.baseline_src.resolve()))
        wrk_rates.append(run_wrk(wrk, url, c, args.short, 1)[0])
    wrk_rps = sum(wrk_rates) / len(wrk_rates)
    print(
        f"wrk -t1 {args.short:g} s, before and after: " + ", ".join(f"{r:.0f}" for r in wrk_rates)
    )
    print(f"{'run':<22} {'requests':>10} {'rps':>9} {'x wrk':>6} {'peak RSS':>9} {'CPU/req':>9}")
    for run in runs:
        print(
            f"{run.label:<22} {run.requests:>10} {run.rps:>9.0f} {run.rps / wrk_rps:>6.2f} "
            f"{run.peak_rss_mb:>6.1f} MB {run.cpu_us:>6.1f} us"
        )
    short, long = runs[0], runs[1]
    growth = long.peak_rss_mb - short.peak_rss_mb
    print(f"\npeak RSS {args.long:g} s - {args.short:g} s: {growth:+.1f} MB (goal: within 10 MB)")
    ratios = ", ".join(f"{run.rps / wrk_rps:.2f}" for run in (short, long))
    print(f"loopsight / wrk: {ratios} (goal >= 0.95)")


if __name__ == "__main__":
    main()
