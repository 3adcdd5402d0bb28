"""Plain, serialisable records the watchdog produces: one :class:`Stall` per blocked loop.

Records hold only strings and numbers so that processors and exporters never touch frames,
tasks or scopes, and a stall can be written to JSON and read back unchanged.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["CPU_STARVED", "UNKNOWN_CULPRIT", "UNMATCHED", "Activity", "Culprit", "Stall"]

UNMATCHED = "<unmatched>"  # label of a request no route matched (or not routed yet)
CPU_STARVED = "<cpu-starved>"  # culprit key of a stall spent waiting for a CPU
UNKNOWN_CULPRIT = "<unknown>"  # culprit key of a stall no sample caught


@dataclass(frozen=True)
class Activity:
    """What the loop was doing: a request, a background task, start-up, or some other task.

    ``kind`` is one of ``request``, ``websocket``, ``background``, ``startup``, ``shutdown``,
    ``task`` (a task no middleware registered) or ``callback`` (no task was running).
    """

    kind: str
    method: str = ""
    route: str = ""
    path: str = ""
    name: str = ""

    @property
    def label(self) -> str:
        """One human-readable phrase: ``GET /items/{item_id}`` or ``background send_mail``."""
        if self.kind in ("request", "websocket"):
            where = f"{self.method} {self.route or self.path}".strip()
            return where if self.kind == "request" else f"websocket {where}"
        if self.kind == "background":
            route = f" (after {self.method} {self.route or self.path})" if self.method else ""
            return f"background {self.name}{route}"
        return f"{self.kind} {self.name}".strip()

    @property
    def route_label(self) -> str:
        """The bounded label used to aggregate: route template, or the kind and task name."""
        if self.kind in ("request", "websocket"):
            return self.route or UNMATCHED
        if self.kind == "background":
            return f"<background {self.name}>"
        return f"<{self.kind}>"


@dataclass(frozen=True)
class Culprit:
    """The innermost frame of application code, and the call it was making when sampled."""

    file: str
    line: int
    function: str
    call: str = ""
    callee: str = ""

    @property
    def location(self) -> str:
        """``file:line``, the key stalls are aggregated by."""
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class Stall:
    """One interval during which the event loop did not run its heartbeat for too long.

    Built once, complete, by :mod:`loopsight.runtime.builder` and never changed after.

    ``start`` and ``end`` are seconds on the watchdog's clock (``time.perf_counter`` unless a
    clock was injected); ``wall_start`` is the same instant as a Unix timestamp. ``stacks`` maps
    collapsed stacks (``outer;...;inner`` frames, each ``function (file:line)``) to sample counts.
    ``waited`` is how long the loop thread sat runnable but without a CPU during the stall
    (Linux schedstat): when it is most of the stall, the process was starved, not blocked.
    ``gc_collections`` counts full (oldest-generation) garbage collections that ran during the
    stall or at most a quarter threshold before it: a pause no stack sample can show.
    ``trace_id`` and ``span_id`` (hex, empty when unknown) name the OpenTelemetry span that was
    active in the stalled task, read only when OpenTelemetry is on.
    """

    start: float
    end: float
    wall_start: float
    activity: Activity
    culprit: Culprit | None = None
    stacks: dict[str, int] = field(default_factory=dict)
    samples: int = 0
    pid: int = 0
    seq: int = 0
    waited: float = 0.0
    gc_collections: int = 0
    trace_id: str = ""
    span_id: str = ""

    @property
    def duration(self) -> float:
        """Seconds the loop was stalled."""
        return self.end - self.start

    @property
    def starved(self) -> bool:
        """The loop thread spent most of the stall waiting for a CPU: contention, not code."""
        return self.waited >= self.duration / 2

    @property
    def culprit_key(self) -> str:
        """What stalls are counted by: the culprit's ``file:line``, or why there is none."""
        if self.starved:
            return CPU_STARVED
        return self.culprit.location if self.culprit is not None else UNKNOWN_CULPRIT

    @property
    def group_key(self) -> tuple[str, str]:
        """(route label, culprit key): the labels stalls are aggregated and grouped by."""
        return self.activity.route_label, self.culprit_key

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (``duration`` included for readers)."""
        data = asdict(self)
        data["duration"] = self.duration
        data["starved"] = self.starved
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Stall:
        """Inverse of :meth:`to_json`."""
        culprit = data.get("culprit")
        return cls(
            start=float(data["start"]),
            end=float(data["end"]),
            wall_start=float(data["wall_start"]),
            activity=Activity(**data["activity"]),
            culprit=Culprit(**culprit) if culprit else None,
            stacks={str(k): int(v) for k, v in data.get("stacks", {}).items()},
            samples=int(data.get("samples", 0)),
            pid=int(data.get("pid", 0)),
            seq=int(data.get("seq", 0)),
            waited=float(data.get("waited", 0.0)),
            gc_collections=int(data.get("gc_collections", 0)),
            trace_id=str(data.get("trace_id", "")),
            span_id=str(data.get("span_id", "")),
        )

    def describe(self) -> str:
        """The one-line form used by the log exporter and ``loopsight run``."""
        where = self.activity.label
        if self.culprit is None:
            at = "culprit not sampled"
        else:
            at = f"at {self.culprit.location} in {self.culprit.function}"
            if self.culprit.call:
                at += f": {self.culprit.call}"
        line = f"loop stalled {self.duration * 1000:.0f} ms in {where} {at}"
        if self.starved:
            line += f" (starved: waited {self.waited * 1000:.0f} ms for a CPU)"
        if self.gc_collections:
            line += " (a full garbage collection ran meanwhile)"
        return line
