"""Join each lab scenario with what the other two faces of loopsight say about its route:
the static checker's findings and the runtime watchdog's stalls (a finding is
:class:`loopsight.joins.StaticFinding`, the record ``loopsight run`` joins its stalls with)."""

from __future__ import annotations

import json
import os
import re
import urllib.request
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loopsight.joins import StaticFinding
from loopsight.lab.scenarios import Scenario

__all__ = [
    "RUNTIME_PREFIX",
    "StallSummary",
    "StaticFinding",
    "fetch_stalls",
    "fetch_trace",
    "findings_by_scenario",
    "summarise_stalls",
    "trace_window",
]

RUNTIME_PREFIX = "/_loopsight"


def _belongs(context: Any, call_path: Sequence[Any], scenario: Scenario) -> bool:
    if context is None:
        return False
    route = context.route or ""
    if route.partition(" ")[2] == scenario.route:
        return True
    # Findings outside a route (middleware, background tasks) belong by function name.
    names = {context.function, *(hop.function for hop in call_path)}
    return bool(names & set(scenario.functions))


def findings_by_scenario(scenarios: Iterable[Scenario]) -> dict[str, list[StaticFinding]]:
    """Run ``loopsight check`` on the lab app's source (parsed, never imported) and file each
    finding under the scenarios whose route or functions it is about."""
    from loopsight.check import run_check

    source = Path(__file__).resolve().parent
    result = run_check([str(source)])
    joined: dict[str, list[StaticFinding]] = {s.name: [] for s in scenarios}
    for finding in result.findings:
        for scenario in scenarios:
            if _belongs(finding.context, finding.call_path, scenario):
                joined[scenario.name].append(
                    StaticFinding(finding.code, finding.path, finding.line, finding.message)
                )
    return joined


@dataclass(frozen=True)
class StallSummary:
    """The runtime stalls attributed to one scenario's route (or its background tasks)."""

    count: int = 0
    total_s: float = 0.0
    culprits: Mapping[str, int] | None = None  # "file:line" -> stalls
    elsewhere: int = 0  # stalls on the route blamed on framework or library code
    starved_s: float = 0.0  # of total_s, in stalls where the loop's thread waited for a CPU

    @property
    def mostly_starved(self) -> bool:
        """Whether most of the stalled time was the loop waiting for a core, not running."""
        return self.total_s > 0 and self.starved_s >= self.total_s / 2

    @property
    def top_culprit(self) -> str | None:
        """The ``file:line`` most stalls were blamed on."""
        if not self.culprits:
            return None
        return max(self.culprits.items(), key=lambda item: item[1])[0]

    def to_json(self) -> dict[str, Any]:
        """The JSON form (seconds are real, not scaled)."""
        return {
            "count": self.count,
            "total_s": self.total_s,
            "culprit": self.top_culprit,
            "culprits": dict(self.culprits or {}),
            "elsewhere": self.elsewhere,
            "starved_s": self.starved_s,
        }


def _get_json(url: str, token: str) -> Any:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def fetch_stalls(base_url: str, token: str) -> tuple[int, list[dict[str, Any]]]:
    """The server's stall count so far and its recent stalls (newest first)."""
    document = _get_json(f"{base_url}{RUNTIME_PREFIX}/stalls", token)
    return int(document["stall_count"]), list(document["stalls"])


def fetch_trace(
    base_url: str, token: str, path: Path, window: tuple[float, float] | None = None
) -> None:
    """Save the server's Chrome trace / Perfetto JSON to ``path``; with ``window`` (Unix times,
    seconds), only what began inside it."""
    document = _get_json(f"{base_url}{RUNTIME_PREFIX}/trace", token)
    if window is not None:
        document = trace_window(document, *window)
    path.write_text(json.dumps(document), encoding="utf-8")


def trace_window(document: Mapping[str, Any], start: float, end: float) -> dict[str, Any]:
    """The trace events that began between ``start`` and ``end`` (Unix seconds).

    The server keeps its recent requests and stalls in ring buffers that outlive a scenario;
    a request's end event stays exactly when its begin event does, so no slice is left open.
    """
    low, high = start * 1_000_000.0, end * 1_000_000.0
    events = list(document.get("traceEvents", []))
    begun = {
        (event.get("name"), event.get("id"))
        for event in events
        if event.get("ph") == "b" and low <= float(event["ts"]) <= high
    }
    kept = []
    for event in events:
        phase = event.get("ph")
        if phase == "M":
            kept.append(event)
        elif phase in ("b", "e"):
            if (event.get("name"), event.get("id")) in begun:
                kept.append(event)
        elif low <= float(event.get("ts", 0.0)) <= high:
            kept.append(event)
    return {**document, "traceEvents": kept}


def summarise_stalls(
    stalls: Iterable[Mapping[str, Any]], after_seq: int, scenario: Scenario
) -> StallSummary:
    """The stalls newer than ``after_seq`` that the watchdog attributed to the scenario and
    blamed on the lab app's own code.

    A stall on the route whose culprit is framework or library code (serving a burst of a
    hundred requests at once, starting a thread) is counted apart, in ``elsewhere``: it is the
    cost of serving, not a blocking call of the route. "Starved" stalls count too (and their
    time apart, in ``starved_s``): CPU-bound code on the loop is runnable-but-waiting whenever
    the machine is busy, and it is still the route's code that holds the loop; a route that
    only awaits is starved when other threads take the cores.
    """
    count, total, elsewhere, starved = 0, 0.0, 0, 0.0
    culprits: Counter[str] = Counter()
    for stall in stalls:
        if int(stall.get("seq", 0)) <= after_seq:
            continue
        activity = stall.get("activity") or {}
        if activity.get("route") != scenario.route and activity.get("name") not in set(
            scenario.functions
        ):
            continue
        where = _lab_frame(stall)
        if where is None:
            elsewhere += 1
            continue
        count += 1
        total += float(stall["duration"])
        if stall.get("starved"):
            starved += float(stall["duration"])
        culprits[where] += 1
    return StallSummary(count, total, dict(culprits), elsewhere, starved)


_FRAME = re.compile(r"\((?P<file>.*):(?P<line>\d+)\)$")


def _lab_frame(stall: Mapping[str, Any]) -> str | None:
    """``file:line`` of the innermost lab-app frame the stall blamed or sampled, if any."""
    culprit = stall.get("culprit")
    if culprit and _is_lab_code(culprit["file"]):
        return f"{os.path.basename(culprit['file'])}:{culprit['line']}"
    # The runtime blames the innermost application frame; the lab lives inside loopsight's
    # own package, so look for it in the sampled stacks (most-sampled stack first).
    stacks = sorted((stall.get("stacks") or {}).items(), key=lambda item: -int(item[1]))
    for stack, _ in stacks:
        for frame in reversed(stack.split(";")):
            match = _FRAME.search(frame.strip())
            if match and _is_lab_code(match["file"]):
                return f"{os.path.basename(match['file'])}:{match['line']}"
    return None


_LAB_SOURCE = Path(__file__).resolve().parent


def _is_lab_code(file: str) -> bool:
    try:
        return Path(file).resolve().is_relative_to(_LAB_SOURCE)
    except (OSError, ValueError):
        return False
