"""Run a load: pick the loop for the config, on the running event loop or on a new one."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading

from loopsight.load._closed import ClosedLoop
from loopsight.load._config import LoadConfig
from loopsight.load._open import OpenLoop
from loopsight.load._result import LoadResult
from loopsight.load._run import Outputs, ProgressCallback, Run
from loopsight.load._sink import RecordsFile
from loopsight.load._timeline import SecondCallback

__all__ = ["new_event_loop", "run_load", "run_load_sync"]


def _make_run(config: LoadConfig, loop: asyncio.AbstractEventLoop, outputs: Outputs) -> Run:
    config.validate()
    if config.rate is None:
        return ClosedLoop(config, loop, outputs)
    return OpenLoop(config, loop, outputs)


async def run_load(
    config: LoadConfig,
    on_progress: ProgressCallback | None = None,
    *,
    on_second: SecondCallback | None = None,
    records: RecordsFile | None = None,
) -> LoadResult:
    """Run ``config`` on the running event loop and return what was measured.

    ``on_progress`` is called about ten times a second, and once at the end, with the number of
    requests finished so far; ``on_second`` with each :class:`Second` of the timeline as it
    ends. Every request is streamed to ``records`` when given, which the run closes (or deletes,
    when it raises). Raises :class:`LoopsightError` for a bad config or an unusable target; a
    run cut short returns its partial records with ``aborted`` set.
    """
    outputs = Outputs(on_progress, on_second, records)
    return await _make_run(config, asyncio.get_running_loop(), outputs).run()


def new_event_loop() -> asyncio.AbstractEventLoop:
    """A new uvloop event loop when uvloop is installed, else a default asyncio one."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    return loop


def run_load_sync(
    config: LoadConfig,
    on_progress: ProgressCallback | None = None,
    *,
    on_second: SecondCallback | None = None,
    records: RecordsFile | None = None,
) -> LoadResult:
    """Like :func:`run_load`, on a loop of its own (uvloop if installed).

    Called from the main thread, Ctrl-C stops the run and returns the partial results with
    ``aborted="interrupted (Ctrl-C)"`` instead of raising :class:`KeyboardInterrupt`.
    """
    loop = new_event_loop()
    handled = False
    previous = signal.getsignal(signal.SIGINT)
    try:
        run = _make_run(config, loop, Outputs(on_progress, on_second, records))
        if threading.current_thread() is threading.main_thread():
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signal.SIGINT, run.stop, "interrupted (Ctrl-C)")
                handled = True
        return loop.run_until_complete(run.run())
    finally:
        if handled:
            loop.remove_signal_handler(signal.SIGINT)
            # uvloop leaves its own handler in place, bound to the closed loop: Ctrl-C would
            # be lost for the rest of the process (a lab's later steps) unless it is put back.
            signal.signal(signal.SIGINT, previous)
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
