"""CPU-bound work sized to a duration: the seed's pure-Python sum and the fit that sizes it.

The seed's ``sum(i * i for i in range(10**6))`` takes a different time on every machine, so the
lab sizes it once at start-up: ``size_for(scaled(1.0), cpu_work)`` measures a few sizes and fits
a line, giving the ``n`` at which the work takes one seed-second here. The same fit sizes the
lab's slow SQLite query (``loopsight.lab._db``).
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["cpu_work", "size_for"]

_PROBE_S = (0.01, 0.05)  # the largest measured size takes the target, kept within these bounds
_MAX_SIZE = 1 << 40


def cpu_work(n: int) -> int:
    """The seed's CPU-bound task: ``sum(i * i for i in range(n))``, all in Python bytecode."""
    return sum(i * i for i in range(n))


def _best_time(run: Callable[[int], object], n: int, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run(n)
        best = min(best, time.perf_counter() - start)
    return best


def size_for(seconds: float, run: Callable[[int], object], start: int = 4096) -> int:
    """The size ``n`` at which ``run(n)`` takes ``seconds`` on this machine (at least 1).

    Doubles ``n`` until one run takes about ``seconds`` (kept within ``_PROBE_S``), then fits
    ``time = a * n + b`` by least squares on ``n / 4``, ``n / 2`` and ``n`` (best of three runs
    each) and solves for ``seconds``.
    """
    probe_s = min(max(seconds, _PROBE_S[0]), _PROBE_S[1])
    n = max(4, start)
    while n < _MAX_SIZE and _best_time(run, n, repeat=1) < probe_s:
        n *= 2
    sizes = [n // 4, n // 2, n]
    times = [_best_time(run, size) for size in sizes]
    mean_n = sum(sizes) / len(sizes)
    mean_t = sum(times) / len(times)
    spread = sum((size - mean_n) ** 2 for size in sizes)
    slope = sum((s - mean_n) * (t - mean_t) for s, t in zip(sizes, times, strict=True)) / spread
    if slope <= 0:  # timer noise swamped the work: fall back to proportion through the origin
        slope = times[-1] / sizes[-1]
    intercept = mean_t - slope * mean_n
    return max(1, round((seconds - intercept) / slope))
