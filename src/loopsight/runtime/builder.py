"""From samples to one frozen :class:`~loopsight.runtime.records.Stall`, published once.

The watchdog hands over each stalled interval with its samples and what it measured (run-queue
wait, full collections); the builder numbers it, attributes it (the most-sampled activity and
culprit win), and publishes the complete record. A stall that happened before its request was
routed is held back until the route template is known, then built with it.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace

from loopsight.runtime.records import Activity, Culprit, Stall
from loopsight.runtime.registry import LiveActivity

__all__ = ["ROUTE_WAIT", "Sample", "SpanLink", "StallBuilder", "build_stall"]

ROUTE_WAIT = 5.0  # seconds a stall waits for its request to be routed before it is published

StallSink = Callable[[Stall], None]
# (trace id, span id) in hex of the span active in a stalled task: OpenTelemetry's, when on.
SpanLink = tuple[str, str]


@dataclass(frozen=True)
class Sample:
    """One look at the loop thread while it was stalled."""

    at: float
    activity: Activity
    stack: str
    culprit: Culprit | None
    live: LiveActivity | None = None
    link: SpanLink | None = None


def build_stall(
    start: float,
    end: float,
    wall_start: float,
    samples: list[Sample],
    *,
    waited: float = 0.0,
    gc_collections: int = 0,
    seq: int = 0,
    pid: int = 0,
) -> tuple[Stall, LiveActivity | None]:
    """Assemble a :class:`Stall` from its samples: the most-sampled activity and culprit win.

    Also returns the live activity of the winner, so a stall that happened before routing can
    wait for its route template.
    """
    activity, culprit, live, link = Activity("unknown"), None, None, None
    if samples:
        activity = Counter(s.activity for s in samples).most_common(1)[0][0]
        own = [s for s in samples if s.activity == activity]
        culprits = Counter(s.culprit for s in own if s.culprit is not None)
        culprit = culprits.most_common(1)[0][0] if culprits else None
        live = next((s.live for s in own if s.live is not None), None)
        link = next((s.link for s in own if s.link is not None), None)
    stall = Stall(
        start=start,
        end=end,
        wall_start=wall_start,
        activity=activity,
        culprit=culprit,
        stacks=dict(Counter(s.stack for s in samples)),
        samples=len(samples),
        pid=pid,
        seq=seq,
        waited=waited,
        gc_collections=gc_collections,
        trace_id=link[0] if link else "",
        span_id=link[1] if link else "",
    )
    return stall, live


class StallBuilder:
    """Numbers, builds and publishes stalls; holds those still waiting for their route."""

    def __init__(self, publish: StallSink, clock: Callable[[], float]) -> None:
        self.publish = publish
        self.clock = clock
        self.count = 0  # stalls numbered so far, published or held
        self._held: list[tuple[float, Stall, LiveActivity]] = []

    def add(
        self,
        start: float,
        end: float,
        wall_start: float,
        samples: list[Sample],
        *,
        waited: float,
        gc_collections: int,
    ) -> None:
        """Build the stall of one interval and publish it, or hold it until it is routed."""
        self.count += 1
        stall, live = build_stall(
            start, end, wall_start, samples, waited=waited, gc_collections=gc_collections,
            seq=self.count, pid=os.getpid(),
        )  # fmt: skip
        if live is not None and stall.activity.kind == "request" and not stall.activity.route:
            self._held.append((self.clock() + ROUTE_WAIT, stall, live))
            return
        self.publish(stall)

    def holding(self) -> bool:
        """True while a stall waits for its route."""
        return bool(self._held)

    def release(self, now: float) -> None:
        """Publish the held stalls whose route is now known (or whose request ended, or that
        waited long enough), with that route."""
        if not self._held:
            return
        keep: list[tuple[float, Stall, LiveActivity]] = []
        for deadline, stall, live in self._held:
            route = live.snapshot().route
            if route or live.finished() or now >= deadline:
                self.publish(replace(stall, activity=replace(stall.activity, route=route)))
            else:
                keep.append((deadline, stall, live))
        self._held = keep
