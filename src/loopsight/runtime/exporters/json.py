"""JSON exporter: recent stalls, their groups, and the monitors' current state."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from loopsight.runtime.exporters._registry import Render, endpoint
from loopsight.runtime.processors import group_stalls
from loopsight.runtime.records import Stall
from loopsight.runtime.snapshot import Snapshot

if TYPE_CHECKING:
    from loopsight.runtime.core import Runtime

__all__ = ["stalls_document"]


@endpoint("stalls")
def _serve(runtime: Runtime) -> Render:
    return lambda: (json.dumps(stalls_document(runtime.snapshot())).encode(), "application/json")


def _with_check(stall: Stall, snap: Snapshot) -> dict[str, Any]:
    """The stall's JSON, with loopsight check's word on its culprit once check has run."""
    data = stall.to_json()
    if snap.findings is not None and stall.culprit is not None:
        data["check"] = snap.findings.describe(stall.culprit.file, stall.culprit.line)
    return data


def stalls_document(snap: Snapshot, limit: int = 200) -> dict[str, Any]:
    """Everything the stalls endpoint and the dashboard show, as JSON-ready data."""
    stalls = snap.stalls
    recent = stalls[-limit:] if limit > 0 else ()
    pool = snap.pool.last
    bg = snap.background
    return {
        "pid": snap.pid,
        "threshold_ms": snap.threshold * 1000.0,
        "stall_count": snap.stall_count,
        "stalls": [_with_check(s, snap) for s in reversed(recent)],
        "groups": [
            {
                "route": g.route,
                "culprit": g.culprit,
                "count": g.count,
                "total_ms": g.total * 1000.0,
                "max_ms": g.longest.duration * 1000.0,
                "call": g.longest.culprit.call if g.longest.culprit else "",
            }
            for g in group_stalls(stalls)
        ],
        "threadpool": {
            "borrowed": pool.borrowed if pool else 0,
            "total": pool.total if pool else 0,
            "waiting": pool.waiting if pool else 0,
            "saturations": snap.pool.saturations,
        },
        "background": {
            "running": bg.running,
            "outcomes": [
                {"task": name, "outcome": outcome, "count": int(row[0])}
                for (name, outcome), row in sorted(bg.outcomes.items())
            ],
            "failures": [{"at": f.at, "task": f.name, "error": f.error} for f in bg.failures],
        },
        "series": [
            {
                "at": p.at,
                "lag_ms": p.lag_max * 1000.0,
                "borrowed": p.borrowed,
                "total": p.total,
                "waiting": p.waiting,
                "in_flight": p.in_flight,
            }
            for p in snap.series
        ],
    }
