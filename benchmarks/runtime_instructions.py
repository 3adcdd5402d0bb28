"""What does the runtime instrumentation cost, counted in instructions rather than seconds?

`runtime_overhead.py` times the variants with wrk; on a shared two-core machine its req/s and
CPU figures swing by several percent between runs, which is the size of the goal (a loss of
<= 3%). This script counts the CPU instructions the uvicorn server executes per request, under
valgrind's callgrind, for the same apps (it imports `runtime_overhead.APP` and `VARIANTS`). The
count is repeatable whatever else the machine is doing.

Each variant is served by one uvicorn worker running under callgrind. After a warm-up, the
counters are zeroed, the server is loaded with N keep-alive requests from loopsight's own
driver (then, for loopsight, its metrics are scraped once, which folds the queued requests into
the aggregates as its tick would), and the counters are dumped (the load and the scrape apart);
then the same with 2N requests.
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
    python benchmarks/runtime_instructions.py --breakdown [--variants bare,passthrough,...]

``--breakdown`` says where each variant's extra instructions go, from the same dumps. CPython
3.11 runs Python-to-Python calls inside one C function, so callgrind cannot split the Python
code by function; the breakdown is made of two kinds of rows, both per request:

  by step      the load and the metrics scrape are dumped apart, so each loopsight variant's
               cost is split into ``on the loop`` (the middleware, while serving) and ``fold``
               (RequestLog.flush: the queued requests into the histograms, in bulk); timers
               are the idle figure divided by --rps. Variants that differ by one thing
               (bare -> passthrough -> empty-mw -> defaults -> headers) give the rest: one
               middleware layer in Starlette's stack, a send wrapper, loopsight's own work,
               the timing headers (static-headers: the same two headers, constant).
  by mechanism each C function's self cost minus bare's, in groups (the eval loop running
               Python bytecode, calls and frames, closures, coroutines, allocation, garbage
               collection, dict and attribute lookups, the clock, formatting, ...), then the
               functions that differ most. ``unattributed`` is the dumps' total (their
               ``summary:``, the figure the ratios use) less the sum of their functions' self
               costs (``totals:``): a check, near 0. (After ``--zero`` alone, callgrind's
               first dump lists costs from before the zeroing; a dump resets both, so the
               warm-up ends with one.)

Output: one line per variant as it is counted; the table ``variant, instr/req, extra, ratio``
(ratio to bare, timers included); with ``--breakdown``, the by-step table (``variant, loop,
fold, timers, extra``, then the differences between pairs of variants measured), the
by-mechanism table (a row per group, a column per variant, the last row ``extra``), and for
each variant the 15 C functions whose self cost differs most from bare's, with their group.

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
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent))

from runtime_overhead import APP, VARIANTS, parse_variants

from loopsight.load import LoadConfig, run_load_sync
from loopsight.server import UvicornServer

LOOPSIGHT = ("defaults", "headers", "thread-sampler", "loopsight-otel")
IDLE_SECONDS = 10.0
_TOTALS = re.compile(r"^(?:totals|summary):\s+(\d+)", re.MULTILINE)
_NAMED = re.compile(r"^\((\d+)\)(?: (.*))?$")
# C functions in groups, first match wins; self costs, so the groups of a dump add up.
GROUPS = (
    ("eval loop (Python bytecode)", r"^_PyEval_EvalFrameDefault$"),
    (
        "garbage collection",
        r"^(gc_|visit_|update_refs|subtract_refs|move_|deduce_unreachable|"
        r"untrack_|delete_garbage|_PyGC_)|traverse$|MaybeUntrack",
    ),
    ("coroutines", r"^(gen_|_?PyGen_|_Py_MakeCoro|make_gen|coro_|PyIter_Send|_PyCoro)"),
    ("closures (cells, functions)", r"^(PyCell_New|cell_|PyFunction_New|func_)"),
    (
        "calls and frames",
        r"[Vv]ectorcall|_PyEval_Vector|_PyFrame_|_PyEvalFrame|initialize_locals|"
        r"PyObject_Call|_PyObject_FastCall|slot_tp_call|MakeTpCall|_Py_CheckFunctionResult|"
        r"PopFrame|PushFrame|_PyArg_|vgetargs|convertitem|cfunction_|^method_",
    ),
    ("clock", r"perf_counter|_PyTime_|clock_gettime|vdso|monotonic"),
    (
        "allocation and deallocation",
        r"alloc|Alloc|[Ff]ree$|_PyObject_GC_New|GC_Del|GC_Link|"
        r"GC_UnTrack|GC_Track|_Py_NewReference|_Py_Dealloc|^__mem|_PyTrash|pool|_int_",
    ),
    (
        "dicts, attributes, hashing",
        r"[Dd]ict|unicodekeys|_PyType_Lookup|find_name_in_mro|"
        r"[Gg]et[Aa]ttr|LookupAttr|[Hh]ash|_PyUnicode_Equal|find_empty_slot|new_keys|Contains|"
        r"member_get|getattro",
    ),
    (
        "tuples, lists, iteration",
        r"[Tt]uple|[Ll]ist|zip|[Ii]ter|merge_|sort|bisect|map_next|"
        r"deque|range",
    ),
    ("numbers and formatting", r"[Ff]loat|[Ll]ong|[Bb]ytes|[Ff]ormat|dtoa|double|Number"),
)


class _CallgrindServer(UvicornServer):
    """uvicorn under ``valgrind --tool=callgrind``, dumping to ``out`` on request."""

    def __init__(self, out: Path, **kwargs: object) -> None:
        super().__init__("bench_app:app", health_path="/hello", startup_timeout=300, **kwargs)  # type: ignore[arg-type]
        self.out = out

    def _command(self) -> list[str]:
        valgrind = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={self.out}.%p"]
        return [*valgrind, "--dump-instr=no", "--dump-line=no", *super()._command()]

    def dump(self, tag: str) -> tuple[int, Path]:
        """Dump the counters since the last zeroing (dumping zeroes them); return the
        instructions counted and the dump."""
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
                    return int(match.group(1)), path
            time.sleep(0.2)
        raise RuntimeError(f"callgrind wrote no dump for {tag}")

    def zero(self) -> None:
        assert self.pid is not None
        subprocess.run(["callgrind_control", "--zero", str(self.pid)], check=True,
                       capture_output=True)  # fmt: skip


class Dumps(NamedTuple):
    """Instructions of one counted run: the load, then (loopsight only) the metrics scrape."""

    load: int
    scrape: int
    files: tuple[Path, ...]


def _count(server: _CallgrindServer, variant: str, url: str, n: int, connections: int) -> Dumps:
    """Instructions for ``n`` requests (and, for loopsight, one metrics scrape after them)."""
    server.zero()
    result = run_load_sync(LoadConfig(url, n=n, c=connections, timeout=120))
    failed = result.summary().failed
    if failed or result.aborted:
        raise RuntimeError(f"{variant}: {failed} failed requests {result.aborted or ''}")
    load, load_file = server.dump(f"{variant}-{n}-load")
    if variant not in LOOPSIGHT:
        return Dumps(load, 0, (load_file,))
    # Fold the queued requests into the metrics, as a tick would.
    metrics = f"{server.url}/_loopsight/metrics?token=bench-token"
    with urllib.request.urlopen(metrics, timeout=120) as response:
        response.read()
    scrape, scrape_file = server.dump(f"{variant}-{n}-scrape")
    return Dumps(load, scrape, (load_file, scrape_file))


class Measured(NamedTuple):
    """One variant, per request: on the loop, folding into the metrics, timers per idle
    second; and the C functions' self costs per request (load and scrape together)."""

    load: float
    fold: float
    timers: float
    functions: dict[str, float]
    unattributed: float


def _measure(directory: str, variant: str, requests: int, connections: int) -> Measured:
    """Count ``variant`` under callgrind (see the module's docstring)."""
    # Our PYTHONPATH after the app's: point it at another checkout's src/ to count that one.
    path = os.pathsep.join(p for p in (directory, os.environ.get("PYTHONPATH", "")) if p)
    base = {"PYTHONPATH": path, "BENCH_MODE": variant, "BENCH_THRESHOLD_MS": "60000"}
    out = Path(directory, f"cg-{variant}")
    with _CallgrindServer(out, env={**base, "BENCH_TIMERS": "off"}) as server:
        url = f"{server.url}/hello"
        run_load_sync(LoadConfig(url, n=max(200, requests // 5), c=connections, timeout=120))
        server.dump("warm-up")  # resets what --zero leaves in the functions' costs
        # Two runs of different lengths, each ending with a scrape: the difference is the
        # cost of the extra requests alone.
        short = _count(server, variant, url, requests, connections)
        long = _count(server, variant, url, 2 * requests, connections)
    functions: dict[str, float] = {}
    listed = 0.0
    for sign, dumps in ((-1, short), (1, long)):
        for file in dumps.files:
            for name, cost in _self_costs(file).items():
                functions[name] = functions.get(name, 0.0) + sign * cost / requests
                listed += sign * cost / requests
    load = (long.load - short.load) / requests
    fold = (long.scrape - short.scrape) / requests
    unattributed = load + fold - listed
    timers = 0.0
    if variant in LOOPSIGHT:
        with _CallgrindServer(out, env=base) as server:  # timers on, no requests
            server.zero()
            started = time.monotonic()
            time.sleep(IDLE_SECONDS)
            idle, _ = server.dump("idle")
            timers = idle / (time.monotonic() - started)
    return Measured(load, fold, timers, functions, unattributed)


def _self_costs(path: Path) -> dict[str, int]:
    """Instructions each function of a callgrind dump ran itself (its callees' excluded);
    recursion levels (``f'2``) are counted as ``f``."""
    names: dict[str, str] = {}
    costs: dict[str, int] = {}
    function, after_call = "", False
    with path.open() as lines:
        for line in lines:
            first = line[:1]
            if first.isdigit() or first in "+-*":
                if after_call:  # the inclusive cost of a call: the callee's, not ours
                    after_call = False
                else:
                    fields = line.split()
                    costs[function] = costs.get(function, 0) + int(
                        fields[1] if len(fields) > 1 else 0
                    )
            elif line.startswith(("fn=", "cfn=")):
                match = _NAMED.match(line.split("=", 1)[1].rstrip("\n"))
                if match is None:
                    name = line.split("=", 1)[1].rstrip("\n")
                else:
                    key, given = match.groups()
                    name = names.setdefault(key, given or "?")
                if line.startswith("fn="):
                    function = name.split("'")[0]
            elif line.startswith("calls="):
                after_call = True
    return costs


def _group(name: str) -> str:
    for group, pattern in _GROUP_PATTERNS:
        if pattern.search(name):
            return group
    return "other C functions"


_GROUP_PATTERNS = tuple((group, re.compile(pattern)) for group, pattern in GROUPS)


def _print_breakdown(measured: dict[str, Measured], rps: float) -> None:
    """The by-step and by-mechanism tables (see the module's docstring)."""
    bare = measured["bare"]
    others = [v for v in measured if v != "bare"]
    width = max(9, *(len(v) for v in others))
    print("\nby step, instructions per request (loop: while serving; fold: RequestLog.flush; "
          f"timers at {rps:g} req/s):")  # fmt: skip
    print(f"{'variant':15s} {'loop':>9s} {'fold':>7s} {'timers':>7s} {'extra':>8s}")
    for variant, m in measured.items():
        timers = m.timers / rps
        extra = m.load + m.fold + timers - bare.load
        print(f"{variant:15s} {m.load:9.0f} {m.fold:7.0f} {timers:7.0f} {extra:8.0f}")
    steps = (
        ("one middleware layer (passthrough - bare)", "passthrough", "bare"),
        ("a send wrapper reading the status (empty-mw - passthrough)", "empty-mw", "passthrough"),
        (
            "loopsight on the loop beyond a layer (defaults - passthrough)",
            "defaults",
            "passthrough",
        ),
        ("timing headers on the loop (headers - defaults)", "headers", "defaults"),
        ("two constant headers (static-headers - empty-mw)", "static-headers", "empty-mw"),
    )
    for label, one, other in steps:
        if one in measured and other in measured:
            print(f"  {label:64s} {measured[one].load - measured[other].load:8.0f}")
    print("\nby mechanism, instructions per request more than bare (self costs, loop + fold):")
    print(f"{'group':30s} " + " ".join(f"{v:>{width}s}" for v in others))
    rows: dict[str, dict[str, float]] = {}
    for variant in others:
        m = measured[variant]
        for name in m.functions.keys() | bare.functions.keys():
            extra = m.functions.get(name, 0.0) - bare.functions.get(name, 0.0)
            row = rows.setdefault(_group(name), {})
            row[variant] = row.get(variant, 0.0) + extra
        row = rows.setdefault("unattributed", {})
        row[variant] = m.unattributed - bare.unattributed
        row = rows.setdefault("timers", {})
        row[variant] = m.timers / rps
    order = [g for g, _ in GROUPS] + ["other C functions", "unattributed", "timers"]
    for group in order:
        row = rows.get(group, {})
        print(f"{group:30s} " + " ".join(f"{row.get(v, 0.0):{width}.0f}" for v in others))
    totals = [sum(rows[g].get(v, 0.0) for g in rows) for v in others]
    print(f"{'extra':30s} " + " ".join(f"{t:{width}.0f}" for t in totals))
    for variant in others:
        m = measured[variant]
        names = m.functions.keys() | bare.functions.keys()
        diff = {n: m.functions.get(n, 0.0) - bare.functions.get(n, 0.0) for n in names}
        top = sorted(diff.items(), key=lambda item: -abs(item[1]))[:15]
        print(f"\n{variant}: the C functions that differ most from bare (self, per request)")
        for name, extra in top:
            print(f"  {extra:8.0f}  {name}  [{_group(name)}]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests counted per variant")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--rps", type=float, default=7800.0, help="full-speed req/s, for timers")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument(
        "--breakdown", action="store_true", help="also say where the extra instructions go"
    )
    args = parser.parse_args()
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        sys.exit("valgrind not found: apt-get install valgrind")
    variants = parse_variants(args.variants, {"bare"})
    per_request: dict[str, float] = {}
    measured: dict[str, Measured] = {}
    with tempfile.TemporaryDirectory() as directory:
        Path(directory, "bench_app.py").write_text(textwrap.dedent(APP))
        for variant in variants:
            m = _measure(directory, variant, args.requests, args.connections)
            measured[variant] = m
            per_request[variant] = m.load + m.fold + m.timers / args.rps
            print(
                f"{variant:15s} {m.load + m.fold:10.0f} instructions/request under load; "
                f"timers {m.timers:10.0f} instructions/s",
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
    if args.breakdown:
        _print_breakdown(measured, args.rps)


if __name__ == "__main__":
    main()
