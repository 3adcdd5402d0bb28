"""Chrome trace / Perfetto JSON: requests as async slices, stalls on the loop track, and
thread-pool occupancy as a counter. Open in ``chrome://tracing`` or ui.perfetto.dev."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from loopsight.runtime.exporters._registry import Render, endpoint
from loopsight.runtime.snapshot import Snapshot

if TYPE_CHECKING:
    from loopsight.runtime.core import Runtime

__all__ = ["chrome_trace"]

_LOOP_TID = 1


def _us(seconds: float) -> float:
    return round(seconds * 1_000_000.0, 1)


@endpoint("trace")
def _serve(runtime: Runtime) -> Render:
    runtime.trace_requests()  # keep finished requests from now on: the trace shows them

    def render() -> tuple[bytes, str]:
        document = chrome_trace(runtime.snapshot(recent_requests=True))
        return json.dumps(document).encode(), "application/json"

    return render


def chrome_trace(snap: Snapshot) -> dict[str, Any]:
    """The Trace Event Format document for a snapshot taken with ``recent_requests=True``."""
    pid = snap.pid
    events: list[dict[str, Any]] = [
        {"ph": "M", "name": "process_name", "pid": pid, "args": {"name": f"uvicorn worker {pid}"}},
        {"ph": "M", "name": "thread_name", "pid": pid, "tid": _LOOP_TID,
         "args": {"name": "event loop"}},
    ]  # fmt: skip
    for index, req in enumerate(snap.recent_requests):
        name = f"{req.method} {req.route}"
        common = {"cat": "request", "name": name, "id": index, "pid": pid, "tid": _LOOP_TID}
        events.append({**common, "ph": "b", "ts": _us(req.start),
                       "args": {"status": req.status}})  # fmt: skip
        events.append({**common, "ph": "e", "ts": _us(req.end)})
    for stall in snap.stalls:
        culprit = stall.culprit
        events.append(
            {
                "ph": "X",
                "cat": "stall",
                "name": f"stall: {stall.activity.label}",
                "pid": pid,
                "tid": _LOOP_TID,
                "ts": _us(stall.wall_start),
                "dur": _us(stall.duration),
                "args": {
                    "culprit": culprit.location if culprit else None,
                    "call": culprit.call if culprit else None,
                    "stacks": stall.stacks,
                },
            }
        )
    for point in snap.pool.samples:
        events.append(
            {
                "ph": "C",
                "name": "threadpool",
                "pid": pid,
                "ts": _us(point.at),
                "args": {"borrowed": point.borrowed, "waiting": point.waiting},
            }
        )
    return {"traceEvents": events, "displayTimeUnit": "ms"}
