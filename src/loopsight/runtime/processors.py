"""Pure functions over records and aggregates: group stalls, summarise routes.

No state, no I/O: exporters and ``loopsight run`` render what these return.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from loopsight.runtime.records import UNMATCHED, Stall

__all__ = ["RouteRow", "StallGroup", "group_stalls", "quantile", "route_summary"]


@dataclass(frozen=True)
class StallGroup:
    """Stalls sharing a route label and a culprit location, with the longest as example."""

    route: str
    culprit: str
    count: int
    total: float
    longest: Stall

    @property
    def mean(self) -> float:
        """Mean stall duration in seconds."""
        return self.total / self.count


def group_stalls(stalls: Iterable[Stall]) -> list[StallGroup]:
    """Group by (route label, culprit ``file:line``), worst total first."""
    groups: dict[tuple[str, str], list[Stall]] = {}
    for stall in stalls:
        groups.setdefault(stall.group_key, []).append(stall)
    result = [
        StallGroup(
            route=route,
            culprit=culprit,
            count=len(items),
            total=sum(s.duration for s in items),
            longest=max(items, key=lambda s: s.duration),
        )
        for (route, culprit), items in groups.items()
    ]
    return sorted(result, key=lambda g: (-g.total, g.route, g.culprit))


def quantile(bounds: Sequence[float], counts: Sequence[float], q: float) -> float:
    """Upper bound of the bucket holding quantile ``q`` (``inf`` if it is the +Inf bucket)."""
    total = sum(counts)
    if total <= 0:
        return 0.0
    rank = q * total
    seen = 0.0
    for index, count in enumerate(counts):
        seen += count
        if seen >= rank:
            return bounds[index] if index < len(bounds) else float("inf")
    return float("inf")


@dataclass(frozen=True)
class RouteRow:
    """One line of the per-route summary."""

    route: str
    method: str
    requests: int
    errors: int
    mean: float
    p95: float
    stalls: int
    stalled: float
    worst_culprit: str


def route_summary(
    bounds: Sequence[float],
    requests: Mapping[tuple[str, ...], Sequence[float]],
    stalls: Iterable[Stall],
) -> list[RouteRow]:
    """Per (route, method): request count, 5xx count, mean and ~p95 duration, stalls.

    ``requests`` is :meth:`HistogramSet.snapshot` keyed by (route, method, status).
    """
    merged: dict[tuple[str, str], list[float]] = {}
    errors: dict[tuple[str, str], int] = {}
    for (route, method, status), row in requests.items():
        key = (route, method)
        acc = merged.setdefault(key, [0.0] * len(row))
        for i, value in enumerate(row):
            acc[i] += value
        if status.startswith("5"):
            errors[key] = errors.get(key, 0) + int(sum(row[:-1]))
    by_route: dict[tuple[str, str], list[Stall]] = {}
    for stall in stalls:
        if stall.activity.kind in ("request", "websocket", "background") and stall.activity.method:
            key = (stall.activity.route or UNMATCHED, stall.activity.method)
            by_route.setdefault(key, []).append(stall)
    rows: list[RouteRow] = []
    for key in sorted(set(merged) | set(by_route)):
        row = merged.get(key, [0.0] * (len(bounds) + 2))
        count = int(sum(row[:-1]))
        own = by_route.get(key, [])
        culprits = group_stalls(own)
        rows.append(
            RouteRow(
                route=key[0],
                method=key[1],
                requests=count,
                errors=errors.get(key, 0),
                mean=row[-1] / count if count else 0.0,
                p95=quantile(bounds, row[:-1], 0.95),
                stalls=len(own),
                stalled=sum(s.duration for s in own),
                worst_culprit=culprits[0].culprit if culprits else "",
            )
        )
    return rows
