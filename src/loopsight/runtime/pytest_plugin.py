"""pytest plugin: fail a test when the event loop stalls beyond a threshold while it runs.

Use the ``loopsight_guard`` fixture, or mark the test ``@pytest.mark.loopsight(threshold_ms=50)``.
The app under test must be instrumented (``loopsight.instrument(app)``, or
``loopsight_guard.instrument(app)``); the watchdog then watches whichever loop serves it, so
``httpx.AsyncClient(transport=ASGITransport(app))`` and Starlette's ``TestClient`` both work.
The failure names the route (or task) and the culprit line, with the most-sampled stack.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import Any

import pytest

from loopsight.runtime.core import Runtime, get_runtime
from loopsight.runtime.records import Stall

__all__ = ["StallGuard", "loopsight_guard"]

DEFAULT_THRESHOLD_MS = 100.0
_GUARD = pytest.StashKey["StallGuard"]()
_STACK_FRAMES = 8


class StallGuard:
    """Collects the stalls longer than ``threshold_ms`` between :meth:`start` and :meth:`stop`."""

    def __init__(self, runtime: Runtime, threshold_ms: float = DEFAULT_THRESHOLD_MS) -> None:
        self.runtime = runtime
        self.threshold_ms = threshold_ms
        self.stalls: list[Stall] = []
        self._previous: float | None = None
        self.active = False

    def instrument(self, app: Any, **options: Any) -> Any:
        """``loopsight.instrument(app)`` on this guard's runtime, with this guard's threshold."""
        from loopsight.runtime.instrument import instrument

        options.setdefault("log_stalls", False)
        return instrument(app, runtime=self.runtime, threshold_ms=self.threshold_ms, **options)

    def _collect(self, stall: Stall) -> None:
        if stall.duration * 1000.0 >= self.threshold_ms:
            self.stalls.append(stall)

    def start(self) -> None:
        """Lower (or raise) the watchdog threshold to ours and start collecting."""
        self._previous = self.runtime.threshold
        self.runtime.threshold = self.threshold_ms / 1000.0
        self.runtime.add_listener(self._collect)
        self.active = True

    def stop(self) -> list[Stall]:
        """Let the monitor publish a stall that just ended, stop collecting, restore."""
        if not self.active:
            return list(self.stalls)
        self.active = False
        self.runtime.settle()
        self.runtime.remove_listener(self._collect)
        if self._previous is not None:
            self.runtime.threshold = self._previous
            self._previous = None
        return list(self.stalls)

    def report(self) -> str:
        """The failure message: one paragraph per stall, with its culprit stack."""
        lines = [
            f"event loop stalled {len(self.stalls)} time(s) beyond {self.threshold_ms:g} ms "
            "during this test:"
        ]
        for stall in self.stalls:
            lines.append("  " + stall.describe())
            if stall.stacks:
                stack = max(stall.stacks.items(), key=lambda item: item[1])[0]
                frames = stack.split(";")[-_STACK_FRAMES:]
                lines.append("    stack (innermost last):")
                lines.extend(f"      {frame}" for frame in frames)
        return "\n".join(lines)


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``loopsight`` marker."""
    config.addinivalue_line(
        "markers",
        "loopsight(threshold_ms=100): fail the test if the event loop stalls longer than "
        "threshold_ms while it runs",
    )


def _threshold(node: pytest.Item) -> float:
    marker = node.get_closest_marker("loopsight")
    if marker is None:
        return DEFAULT_THRESHOLD_MS
    value = marker.kwargs.get("threshold_ms", marker.args[0] if marker.args else None)
    return float(value) if value is not None else DEFAULT_THRESHOLD_MS


@pytest.fixture
def loopsight_guard(request: pytest.FixtureRequest) -> Iterator[StallGuard]:
    """A started :class:`StallGuard`; the test fails if a stall beyond its threshold occurs."""
    item = request.node
    guard = item.stash.get(_GUARD, None)
    if guard is None:
        guard = StallGuard(get_runtime(), _threshold(item))
        guard.start()
        item.stash[_GUARD] = guard
    yield guard
    guard.stop()  # normally already stopped after the call phase; not if setup failed


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    """Start a guard for marked tests; after the test body, fail it if the loop stalled."""
    guard = item.stash.get(_GUARD, None)
    if guard is None and item.get_closest_marker("loopsight") is not None:
        guard = StallGuard(get_runtime(), _threshold(item))
        guard.start()
        item.stash[_GUARD] = guard
    try:
        result = yield
    except BaseException:
        if guard is not None:
            guard.stop()
        raise
    if guard is not None and guard.stop():
        pytest.fail(guard.report(), pytrace=False)
    return result
