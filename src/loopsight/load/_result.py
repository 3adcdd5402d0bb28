"""What a load run measured: one record per request, and the figures derived from them."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from loopsight.load._config import LoadConfig
from loopsight.load._stats import Latency, latency_of

__all__ = ["ERROR_KINDS", "LoadResult", "RequestRecord", "Summary"]

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


@dataclass
class LoadResult:
    """Everything a run measured, including the partial results of an aborted run."""

    config: LoadConfig
    records: list[RequestRecord]
    total_s: float  # from the first send to the last completion
    aborted: str | None = None  # one-line reason when the run was cut short

    def summary(self) -> Summary:
        """Total time, rps, latency statistics, status counts and errors by kind."""
        ok = [r.end - r.start for r in self.records if r.error is None]
        status = Counter(r.status for r in self.records if r.error is None)
        errors = Counter(r.error for r in self.records if r.error is not None)
        return Summary(
            total_s=self.total_s,
            rps=len(ok) / self.total_s if self.total_s > 0 else 0.0,
            completed=len(ok),
            failed=len(self.records) - len(ok),
            latency=latency_of(ok),
            status=dict(sorted(status.items())),
            errors=dict(sorted(errors.items())),
        )

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict; ``n`` is the number of requests measured."""
        s = self.summary()
        lat = s.latency
        return {
            "url": self.config.url,
            "n": len(self.records),
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
        }
