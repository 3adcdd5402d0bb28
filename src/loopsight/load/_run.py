"""What both loops share: connections, records, timeouts, aborts; and the rules of a run.

Rules the figures depend on:

* Closed loop, ``open_mode="all"``: ``c`` connections start at t=0 and share ``n`` requests (or
  send until ``duration`` has elapsed). ``"ab"``: one probe request alone on one connection;
  when it has completed, the other ``c - 1`` connections open and all ``c`` share the rest.
* Open loop: request ``i`` is due at ``i / rate``; its latency counts from that due time, also
  while it waits for one of the (at most ``c``) connections, so a stalled server shows up in the
  latency of every request scheduled during the stall (no coordinated omission).
* A request on a new connection starts when the connect starts. A request fails with
  ``"timeout"`` when no complete response came ``timeout`` s after it was sent (after the
  connect began, on a new connection). In the open loop, a request still waiting for a
  connection ``timeout`` s after its due time fails as ``"timeout"`` without being sent; that
  bounds how long a run against an overloaded server drains after its last due time.
* With ``duration``, no request starts after the deadline; those in flight are completed and
  counted (each within its timeout).
* Target unusable: if the first connect of the run fails, or the first response is not HTTP,
  :class:`LoopsightError` is raised and nothing is measured. Target stopped answering: after
  ``max(c, 3)`` consecutive connect failures or timeouts with no response in between, the run
  stops and the result has ``aborted`` set. Interrupted runs (``stop()``, Ctrl-C in
  :func:`run_load_sync`) likewise keep their records; requests in flight then are dropped.
  A records file that cannot be written any more (disk full) stops the run the same way.
* A finished request is one tuple appended to a list, nothing more: on the tick when a second
  has ended or the list is long enough, it goes to the :class:`Recorder`, which folds it into
  counters, a histogram and the timeline in bulk.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from dataclasses import dataclass
from time import perf_counter

from loopsight.errors import LoopsightError
from loopsight.load._config import LoadConfig
from loopsight.load._connection import Connection
from loopsight.load._recorder import Recorder
from loopsight.load._result import LoadResult
from loopsight.load._sink import RawRecord, RecordsFile
from loopsight.load._timeline import SecondCallback

__all__ = ["Outputs", "ProgressCallback", "Run"]

ProgressCallback = Callable[[int], None]

_TICK_S = 0.1  # how often timeouts are checked, records folded in and progress reported


@dataclass(frozen=True)
class Outputs:
    """Where a run reports as it goes: finished counts, closed seconds, a records file."""

    on_progress: ProgressCallback | None = None
    on_second: SecondCallback | None = None
    records: RecordsFile | None = None


class Run:
    """State shared by both loops: connections, records, timeouts, stopping."""

    def __init__(
        self,
        config: LoadConfig,
        loop: asyncio.AbstractEventLoop,
        outputs: Outputs,
    ) -> None:
        target = config.target()
        self.config = config
        self.request = config.request_bytes()
        self._host, self._port = target.host, target.port
        self._head = config.method.upper() == "HEAD"
        self._loop = loop
        self._outputs = outputs
        self._on_progress = outputs.on_progress
        self._timeout = config.timeout
        self._c = config.c
        self._give_up = max(config.c, 3)
        self._records: list[RawRecord] = []  # finished since the recorder last took them
        self._recorder = Recorder(0.0, config.exact_limit)  # replaced in run(), once t0 is known
        self._conns: set[Connection] = set()  # connected and not yet lost
        self._connecting = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._active = 0  # requests started and not yet recorded
        self._fails = 0  # consecutive connect failures / timeouts
        self._connected_once = False
        self._answered_once = False
        self._stopped = False
        self._aborted: str | None = None
        self._fatal: LoopsightError | None = None
        self._crash: BaseException | None = None
        self._done: asyncio.Future[None] = loop.create_future()
        self._sweeper: asyncio.TimerHandle | None = None
        self._t0 = 0.0

    def _record_answer(self, start: float, now: float, status: int, nbytes: int) -> bool:
        """Record an HTTP answer; False if the run has stopped and it no longer counts."""
        if self._stopped:
            return False
        self._records.append((start, now, status, nbytes, None))
        self._active -= 1
        self._fails = 0
        self._answered_once = True
        return True

    # -- lifecycle -------------------------------------------------------------------------

    async def run(self) -> LoadResult:
        """Run to the end (or to an abort) and return what was measured."""
        self._t0 = perf_counter()
        outputs = self._outputs
        self._recorder = Recorder(
            self._t0, self.config.exact_limit, outputs.records, outputs.on_second
        )
        self._sweeper = self._loop.call_later(self._tick_s(), self._sweep)
        try:
            self._start()
            await self._done
        finally:
            self._shutdown()
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            # let the transports run their close callbacks before the loop may be closed
            await asyncio.sleep(0)
            await asyncio.sleep(0)
        now = perf_counter()
        if self._crash is not None or self._fatal is not None:
            if self._outputs.records is not None:
                self._outputs.records.discard()
            if self._crash is not None:
                raise RuntimeError("loopsight's load driver failed") from self._crash
            assert self._fatal is not None
            raise self._fatal
        self._collect(now)
        if self._on_progress is not None:
            self._on_progress(self._recorder.count)
        return self._recorder.result(self.config, self._aborted, now)

    def stop(self, reason: str) -> None:
        """Cut the run short, keeping what has been measured; ``reason`` is one line."""
        self._finish(aborted=reason)

    def _start(self) -> None:
        raise NotImplementedError

    def _finish(self, aborted: str | None = None, fatal: LoopsightError | None = None) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._aborted = aborted
        self._fatal = fatal
        if not self._done.done():
            self._done.set_result(None)

    def _shutdown(self) -> None:
        self._stopped = True
        if self._sweeper is not None:
            self._sweeper.cancel()
        for conn in list(self._conns):
            if conn.busy:
                conn.abort()
            else:
                conn.close()
        self._conns.clear()

    def _tick_s(self) -> float:
        return min(_TICK_S, max(self._timeout / 4, 0.005))

    def _sweep(self) -> None:
        now = perf_counter()
        self._time_out(now, now - self._timeout)
        if self._stopped:
            return
        if self._recorder.due(len(self._records), now):
            self._collect(now)
            if self._recorder.failure is not None:
                self._finish(aborted=self._recorder.failure)
                return
        if self._on_progress is not None:
            self._on_progress(self._recorder.count + len(self._records))
        self._sweeper = self._loop.call_later(self._tick_s(), self._sweep)

    def _collect(self, now: float) -> None:
        """Hand the records finished since the last tick to the recorder."""
        chunk, self._records = self._records, []
        self._recorder.take(chunk, now)

    def _time_out(self, now: float, before: float) -> None:
        """Fail the requests sent (or due, when still waiting) before ``before``."""
        for conn in [c for c in self._conns if c.busy and c.sent < before]:
            conn.time_out(now)

    def on_crash(self, exc: BaseException) -> None:
        """Part of the :class:`Owner` protocol."""
        if not self._stopped:
            self._crash = exc
            self._finish()

    # -- connections -----------------------------------------------------------------------

    def _open(self, start: float) -> None:
        """Open a new connection that will carry the request that started at ``start``."""
        self._connecting += 1
        task = self._loop.create_task(self._connect(start, perf_counter()))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _connect(self, start: float, opened: float) -> None:
        made: list[Connection] = []

        def factory() -> Connection:
            made.append(Connection(self, start, opened, self._head))
            return made[0]

        try:
            await asyncio.wait_for(
                self._loop.create_connection(factory, self._host, self._port), self._timeout
            )
        except Exception as exc:  # OSError, TimeoutError, UnicodeError from idna, ...
            if made and made[0].alive:
                return  # connected just as the timeout fired: the connection carries on
            self._connecting -= 1
            if not self._stopped:
                self._connect_failed(start, exc)

    def on_connected(self, conn: Connection) -> None:
        """Part of the :class:`Owner` protocol."""
        self._connecting -= 1
        self._connected_once = True
        if self._stopped:
            conn.close()
        else:
            self._conns.add(conn)

    def _connect_failed(self, start: float, exc: BaseException) -> None:
        reason = _connect_reason(exc, self._host, self._timeout)
        if not self._connected_once:
            self._finish(fatal=LoopsightError(f"cannot connect to {self.config.url}: {reason}"))
            return
        self._failed(start, perf_counter(), "connect", 0, reason)

    def on_failure(
        self, conn: Connection, start: float, now: float, kind: str, nbytes: int, detail: str
    ) -> None:
        """Part of the :class:`Owner` protocol."""
        self._conns.discard(conn)
        if self._stopped:
            return
        if kind == "protocol" and not self._answered_once:
            message = f"{self.config.url} did not answer with HTTP: {detail}"
            self._finish(fatal=LoopsightError(message))
            return
        self._failed(start, now, kind, nbytes, detail)

    def on_retry(self, conn: Connection, start: float) -> None:
        """Part of the :class:`Owner` protocol."""
        self._conns.discard(conn)
        if not self._stopped:
            self._open(start)

    def on_idle_lost(self, conn: Connection) -> None:
        """Part of the :class:`Owner` protocol."""
        self._conns.discard(conn)

    def _failed(self, start: float, now: float, kind: str, nbytes: int, detail: str) -> None:
        self._records.append((start, now, 0, nbytes, kind))
        self._active -= 1
        if kind in ("connect", "timeout"):
            self._fails += 1
            if self._fails >= self._give_up:
                self._finish(
                    aborted=f"target stopped answering: {self._fails} requests in a row "
                    f"failed ({kind}: {detail})"
                )
                return
        self._replace(now)

    def on_response(
        self, conn: Connection, start: float, now: float, status: int, nbytes: int, keep: bool
    ) -> None:
        """Part of the :class:`Owner` protocol: record, then send the next request."""
        raise NotImplementedError

    def _replace(self, now: float) -> None:
        """A connection died with its request recorded: carry on with a new one if needed."""
        raise NotImplementedError


def _connect_reason(exc: BaseException, host: str, timeout: float) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve host {host!r}"
    if isinstance(exc, asyncio.TimeoutError):
        return f"no connection within {timeout:g} s"
    if isinstance(exc, OSError) and exc.strerror:
        # multi-address failures come as "Multiple exceptions: [Errno 111] ..., ..."
        return exc.strerror[0].lower() + exc.strerror[1:]
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
