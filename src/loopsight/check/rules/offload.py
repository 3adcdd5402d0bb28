"""LS4xx: offload misuse (synchronous pool calls, executors created per request, `.result()`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from loopsight.check._hooks import STARTUP, CallSeen, EntryKind
from loopsight.check.rules._registry import Methods, Rule, RuleFamily, each, instance, register

if TYPE_CHECKING:
    from loopsight.check._config import CheckConfig

__all__ = ["OFFLOAD_FUNCTIONS", "OffloadMisuse", "offload_functions"]

#: Calls whose function arguments run off the loop: a reference passed to them is not a call.
OFFLOAD_FUNCTIONS = frozenset(
    {
        "run_in_threadpool",
        "to_thread",
        "run_sync",
        "run_in_executor",
        "add_task",
        "BackgroundTask",
        "submit",
        "apply_async",
        "map_async",
        "iterate_in_threadpool",
    }
)


def offload_functions(config: CheckConfig) -> frozenset[str]:
    """The final names of offload calls, with the project's ``extra-offload-functions``."""
    return OFFLOAD_FUNCTIONS | {name.rpartition(".")[2] for name in config.extra_offload_functions}


_EXECUTOR = "create one executor at startup (lifespan) and reuse it with `loop.run_in_executor`"


@register
class OffloadMisuse(RuleFamily):
    """Offloading done in a way that still blocks the loop."""

    rules: ClassVar[tuple[Rule, ...]] = (
        Rule(
            "LS401",
            "blocking-pool-call",
            "Synchronous process-pool call",
            "`await loop.run_in_executor(executor, fn)` with a `ProcessPoolExecutor`",
        ),
        Rule("LS402", "executor-per-request", "Executor or pool created on the loop", _EXECUTOR),
        Rule(
            "LS403",
            "blocking-future-result",
            "Blocking wait on a concurrent future",
            "`await asyncio.wrap_future(future)` or `await loop.run_in_executor(...)`",
        ),
    )
    calls: ClassVar[dict[str, str]] = {
        **each("concurrent.futures.", "ThreadPoolExecutor ProcessPoolExecutor", "LS402"),
        "multiprocessing.Pool": "LS402",
        "multiprocessing.pool.ThreadPool": "LS402",
    }
    methods: ClassVar[dict[str, Methods]] = {
        "multiprocessing.Pool()": instance("LS401", "apply map starmap imap imap_unordered join"),
        "multiprocessing.AsyncResult()": instance("LS401", "get wait"),
        "concurrent.futures.Future()": instance("LS403", "result exception"),
    }
    returns: ClassVar[dict[str, str]] = {
        **each(
            "multiprocessing.Pool().",
            "apply_async map_async starmap_async",
            "multiprocessing.AsyncResult()",
        ),
        "concurrent.futures.Executor().submit": "concurrent.futures.Future()",
    }
    aliases: ClassVar[dict[str, str]] = {
        "multiprocessing.pool.Pool": "multiprocessing.Pool",
        "multiprocessing.pool.ThreadPool()": "multiprocessing.Pool()",
        "concurrent.futures.ThreadPoolExecutor()": "concurrent.futures.Executor()",
        "concurrent.futures.ProcessPoolExecutor()": "concurrent.futures.Executor()",
        "concurrent.futures.thread.ThreadPoolExecutor": "concurrent.futures.ThreadPoolExecutor",
        "concurrent.futures.process.ProcessPoolExecutor": "concurrent.futures.ProcessPoolExecutor",
        "concurrent.futures._base.Future": "concurrent.futures.Future",
    }

    def on_call(self, call: CallSeen) -> str | None:
        """An executor made under ``if self._pool is None:`` is made once: not LS402."""
        return None if call.code == "LS402" and call.lazy_init else call.code

    def reported_in(self, code: str, kind: EntryKind) -> bool:
        """An executor made once at startup (lifespan, startup event) is the fix, not LS402."""
        return not (code == "LS402" and kind in STARTUP)
