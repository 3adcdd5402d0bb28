"""The run second by second: what finished in each second, its rate, latency and errors."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from loopsight.load._stats import percentile

__all__ = ["Second", "SecondCallback", "Timeline"]


@dataclass(frozen=True)
class Second:
    """The requests that finished in ``[t, t + span_s)`` seconds after the run started.

    Percentiles are nearest-rank over that second's answered requests, exact; ``None`` when
    none was answered. ``span_s`` is 1 but for the run's last, partial second.
    """

    t: int
    span_s: float
    requests: int  # answered + failed
    answered: int
    rps: float  # answered / span_s
    p50: float | None
    p90: float | None
    p99: float | None
    max: float | None
    errors: Mapping[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (seconds, as in the rest of the report)."""
        return {
            "t": self.t,
            "span_s": self.span_s,
            "requests": self.requests,
            "answered": self.answered,
            "rps": self.rps,
            "p50_s": self.p50,
            "p90_s": self.p90,
            "p99_s": self.p99,
            "max_s": self.max,
            "errors": dict(self.errors),
        }


SecondCallback = Callable[[Second], None]


class Timeline:
    """Builds one :class:`Second` per second of the run, in order, as the seconds end.

    Only the second in progress keeps its latencies; a closed second is a few numbers.
    """

    def __init__(self, on_second: SecondCallback | None = None) -> None:
        self.seconds: list[Second] = []
        self._on_second = on_second
        self._t = 0  # the second in progress
        self._latencies: list[npt.NDArray[np.float64]] = []
        self._requests = 0
        self._errors: Counter[str] = Counter()

    def add(
        self,
        ends: npt.NDArray[np.float64],
        latencies: npt.NDArray[np.float64],
        answered: npt.NDArray[np.bool_] | None,
        errors: tuple[str | None, ...],
    ) -> None:
        """Add finished requests: end times since the start, latencies, which were answered
        (``None``: all of them) and each one's error kind (``None`` for an answer)."""
        seconds = np.maximum(np.floor(ends).astype(np.int64), self._t)
        first, last = int(seconds.min()), int(seconds.max())
        if first == last and answered is None:  # the usual chunk: one second, no failures
            self.advance(first)
            self._requests += int(seconds.size)
            self._latencies.append(latencies)
            return
        for t in sorted(set(seconds.tolist())):
            self.advance(t)
            mine = seconds == t
            self._requests += int(np.count_nonzero(mine))
            if answered is None:
                self._latencies.append(latencies[mine])
            else:
                self._latencies.append(latencies[mine & answered])
                self._errors.update(errors[i] or "" for i in np.flatnonzero(mine & ~answered))

    def advance(self, t: int) -> None:
        """Close every second before second ``t`` (those with nothing finished too)."""
        while self._t < t:
            self._close(1.0)

    def finish(self, end: float) -> None:
        """Close the seconds up to ``end`` s, the last one partial."""
        self.advance(int(end))
        span = end - self._t
        if span > 0 or self._requests:
            self._close(span)

    def _close(self, span: float) -> None:
        joined = np.concatenate(self._latencies) if self._latencies else np.empty(0)
        ordered: list[float] = np.sort(joined).tolist()
        answered = len(ordered)
        figures: list[float | None] = [None] * 4
        if answered:
            figures = [percentile(ordered, p) for p in (50, 90, 99)]
            figures.append(ordered[-1])
        p50, p90, p99, top = figures
        second = Second(
            t=self._t,
            span_s=span,
            requests=self._requests,
            answered=answered,
            rps=answered / span if span > 0 else 0.0,
            p50=p50,
            p90=p90,
            p99=p99,
            max=top,
            errors=dict(sorted(self._errors.items())),
        )
        self.seconds.append(second)
        self._t += 1
        self._latencies = []
        self._requests = 0
        self._errors = Counter()
        if self._on_second is not None:
            self._on_second(second)
