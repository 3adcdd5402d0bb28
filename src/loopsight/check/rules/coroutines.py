"""LS3xx: coroutine misuse (a coroutine called without ``await``, a nested event loop)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from loopsight.check._summary import Site
from loopsight.check.rules._registry import Methods, Rule, RuleFamily, instance, register

__all__ = ["COROUTINE_FUNCTIONS", "CoroutineMisuse"]

#: Library coroutine functions whose bare call (no ``await``) is always a mistake.
COROUTINE_FUNCTIONS = frozenset(
    {"asyncio.sleep", "asyncio.wait_for", "asyncio.gather", "asyncio.wait", "anyio.sleep"}
)


@register
class CoroutineMisuse(RuleFamily):
    """Unawaited coroutines and event loops started inside the loop."""

    rules: ClassVar[tuple[Rule, ...]] = (
        Rule(
            "LS301",
            "coroutine-not-awaited",
            "Coroutine `{callee}(...)` is never awaited",
            "`await` it (or schedule it with `asyncio.create_task` and keep a reference)",
            propagates=False,
        ),
        Rule(
            "LS302",
            "nested-event-loop",
            "Event loop started inside the running loop",
            "`await` the coroutine instead of `asyncio.run` / `run_until_complete`",
        ),
    )
    coroutine_functions: ClassVar[frozenset[str]] = COROUTINE_FUNCTIONS
    #: ``loop.run_until_complete(...)`` whatever ``loop`` is known to be
    any_receiver: ClassVar[dict[str, str]] = {"run_until_complete": "LS302"}
    calls: ClassVar[dict[str, str]] = {
        "asyncio.run": "LS302",
        "asyncio.runners.run": "LS302",
        "anyio.run": "LS302",
    }
    methods: ClassVar[dict[str, Methods]] = {
        "asyncio.AbstractEventLoop()": instance("LS302", "run_until_complete run_forever")
    }
    returns: ClassVar[dict[str, str]] = {
        "asyncio.get_event_loop": "asyncio.AbstractEventLoop()",
        "asyncio.new_event_loop": "asyncio.AbstractEventLoop()",
        "asyncio.get_running_loop": "asyncio.AbstractEventLoop()",
    }
    aliases: ClassVar[dict[str, str]] = {
        "asyncio.events.AbstractEventLoop": "asyncio.AbstractEventLoop"
    }

    def on_dropped_coroutine(self, callee: str, line: int, col: int) -> Iterator[Site]:
        """LS301: a bare call of a coroutine function (library or project) drops the coroutine."""
        yield Site("LS301", line, col, callee)
