"""What a load run measured: its figures, second by second too, and each request's record when
the run was small enough to keep them (see :attr:`LoadConfig.exact_limit`)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from loopsight.load._config import LoadConfig
from loopsight.load._stats import Latency, latency_of
from loopsight.load._timeline import Second

__all__ = ["ERROR_KINDS", "LoadResult", "RequestRecord", "Summary", "summarize"]

#: Why a request failed, as recorded in :attr:`RequestRecord.error`.
ERROR_KINDS: dict[str, str] = {
    "connect": "could not connect",
    "timeout": "no complete response within the timeout",
    "reset": "connection reset by the server",
    "closed": "server closed the connection mid-response",
    "protocol": "response is not valid HTTP",
}


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One request: when it started and ended (seconds since the run started), and how."""

    start: float  # scheduled send time in the open loop; connect time on a new connection
    end: float
    status: int  # 0 when the request failed
    nbytes: int  # response body bytes
    error: str | None  # one of ERROR_KINDS, None on a response

    @property
    def latency(self) -> float:
        """``end - start`` in seconds."""
        return self.end - self.start


@dataclass(frozen=True)
class Summary:
    """The figures of a run. ``completed`` requests got an HTTP response (any status)."""

    total_s: float
    rps: float  # completed / total_s, as ab reports it
    completed: int
    failed: int
    latency: Latency  # over completed requests (all zeros if none)
    status: dict[int, int]
    errors: dict[str, int]
    exact: bool = True  # percentiles from every record; False: from the histogram (within 0.1 %)

    @property
    def requests(self) -> int:
        """Requests measured: answered and failed."""
        return self.completed + self.failed


def summarize(records: list[RequestRecord], total_s: float) -> Summary:
    """The exact figures of ``records``: nearest-rank percentiles over every answered request."""
    ok = [r.end - r.start for r in records if r.error is None]
    status = Counter(r.status for r in records if r.error is None)
    errors = Counter(r.error for r in records if r.error is not None)
    return Summary(
        total_s=total_s,
        rps=len(ok) / total_s if total_s > 0 else 0.0,
        completed=len(ok),
        failed=len(records) - len(ok),
        latency=latency_of(ok),
        status=dict(sorted(status.items())),
        errors=dict(sorted(errors.items())),
    )


@dataclass(frozen=True)
class LoadResult:
    """Everything a run measured, including the partial results of an aborted run.

    ``records`` holds every request, in order of start, when the run measured at most
    ``config.exact_limit`` of them, and is empty beyond (:meth:`summary` has the figures).
    """

    config: LoadConfig
    records: list[RequestRecord]
    total_s: float  # from the first send to the last completion
    aborted: str | None = None  # one-line reason when the run was cut short
    figures: Summary | None = None  # None: computed from the records
    timeline: tuple[Second, ...] = field(default=())

    def summary(self) -> Summary:
        """Total time, rps, latency statistics, status counts and errors by kind."""
        if self.figures is not None:
            return self.figures
        return summarize(self.records, self.total_s)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict; ``n`` is the number of requests measured."""
        s = self.summary()
        lat = s.latency
        return {
            "url": self.config.url,
            "n": s.requests,
            "c": self.config.c,
            "total_s": s.total_s,
            "rps": s.rps,
            "latency_s": {
                "min": lat.min,
                "mean": lat.mean,
                "p50": lat.p50,
                "p90": lat.p90,
                "p99": lat.p99,
                "max": lat.max,
            },
            "status": {str(code): count for code, count in s.status.items()},
            "errors": s.errors,
            "completed": s.completed,
            "failed": s.failed,
            "open": self.config.open_mode,
            "rate": self.config.rate,
            "duration": self.config.duration,
            "aborted": self.aborted,
            "latency_exact": s.exact,
            "timeline": [second.to_json() for second in self.timeline],
        }
