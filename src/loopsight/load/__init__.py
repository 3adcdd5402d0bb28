"""The load driver behind ``loopsight bench`` and ``loopsight lab``.

HTTP/1.1 keep-alive over raw asyncio: each connection is an ``asyncio.Protocol`` whose responses
are parsed by httptools; the next request is written from the parser's completion callback, with
the request bytes built once. On uvloop (used when installed) it spends about 10-13 us of user CPU
per request, against 14-18 us for a minimal asyncio-streams client (kernel time, ~14 us, is the
same for both), and drives a uvicorn "hello" app at 0.8-1.0x wrk's rate on two shared cores
(``benchmarks/load_ceiling.py``).

Memory stays flat on long runs: past ``LoadConfig.exact_limit`` requests the per-request records
give way to counters, an HdrHistogram and a per-second timeline (``benchmarks/bench_memory.py``).

>>> from loopsight.load import LoadConfig, run_load_sync
>>> result = run_load_sync(LoadConfig("http://127.0.0.1:8000/", n=200, c=100))
>>> result.summary().rps
"""

from __future__ import annotations

from loopsight.load._config import LoadConfig
from loopsight.load._driver import new_event_loop, run_load, run_load_sync
from loopsight.load._histogram import RELATIVE_ERROR
from loopsight.load._plot import plot_timeline
from loopsight.load._result import ERROR_KINDS, LoadResult, RequestRecord, Summary
from loopsight.load._run import ProgressCallback
from loopsight.load._sink import RECORD_FIELDS, RecordsFile, open_records
from loopsight.load._stats import Latency, latency_of, percentile
from loopsight.load._timeline import Second, SecondCallback

__all__ = [
    "ERROR_KINDS",
    "RECORD_FIELDS",
    "RELATIVE_ERROR",
    "Latency",
    "LoadConfig",
    "LoadResult",
    "ProgressCallback",
    "RecordsFile",
    "RequestRecord",
    "Second",
    "SecondCallback",
    "Summary",
    "latency_of",
    "new_event_loop",
    "open_records",
    "percentile",
    "plot_timeline",
    "run_load",
    "run_load_sync",
]
