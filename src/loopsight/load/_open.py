"""The open loop: request ``i`` is due at ``i / rate`` whatever the latency (``--rate``)."""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections import deque
from time import perf_counter

from loopsight.load._config import LoadConfig
from loopsight.load._connection import Connection
from loopsight.load._run import Outputs, Run

__all__ = ["OpenLoop"]


class OpenLoop(Run):
    """Requests due at ``i / rate``; each goes out on an idle or new connection, or waits."""

    def __init__(
        self,
        config: LoadConfig,
        loop: asyncio.AbstractEventLoop,
        outputs: Outputs,
    ) -> None:
        super().__init__(config, loop, outputs)
        assert config.rate is not None
        self._rate = config.rate
        if config.n is not None:
            self._count = config.n
        else:
            assert config.duration is not None
            # requests due strictly before the end of the duration
            self._count = max(1, math.ceil(round(config.duration * config.rate, 9)))
        self._next = 0
        self._idle: list[Connection] = []
        self._waiting: deque[float] = deque()  # due times of requests waiting for a connection
        self._timer: asyncio.TimerHandle | None = None

    def _start(self) -> None:
        self._tick()

    def _shutdown(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        super()._shutdown()

    def _tick(self) -> None:
        self._timer = None
        now = perf_counter()
        t0, rate, count = self._t0, self._rate, self._count
        while self._next < count and not self._stopped:
            due = t0 + self._next / rate
            if due > now:
                self._timer = self._loop.call_later(due - now, self._tick)
                return
            self._next += 1
            self._active += 1
            self._dispatch(due, now)
        if self._active == 0:
            self._finish()

    def _time_out(self, now: float, before: float) -> None:
        super()._time_out(now, before)
        waiting = self._waiting
        while waiting and waiting[0] < before and not self._stopped:
            # never sent: the client gave up, so this does not count towards "stopped answering"
            self._records.append((waiting.popleft(), now, 0, 0, "timeout"))
            self._active -= 1
        if self._active == 0 and self._next >= self._count:
            self._finish()

    def _dispatch(self, due: float, now: float) -> None:
        if self._idle:
            self._idle.pop().send(due, now)
        elif len(self._conns) + self._connecting < self._c:
            self._open(due)
        else:
            self._waiting.append(due)

    def on_response(
        self, conn: Connection, start: float, now: float, status: int, nbytes: int, keep: bool
    ) -> None:
        """Part of the :class:`Owner` protocol: record, then serve a waiting request."""
        if not self._record_answer(start, now, status, nbytes):
            return
        if keep:
            if self._waiting:
                conn.send(self._waiting.popleft(), now)
                return
            self._idle.append(conn)
        else:
            self._conns.discard(conn)
            if self._waiting:
                self._open(self._waiting.popleft())
                return
        if self._active == 0 and self._next >= self._count:
            self._finish()

    def on_idle_lost(self, conn: Connection) -> None:
        """Part of the :class:`Owner` protocol: forget an idle connection the server closed."""
        super().on_idle_lost(conn)
        with contextlib.suppress(ValueError):
            self._idle.remove(conn)

    def _replace(self, now: float) -> None:
        if self._waiting:
            self._open(self._waiting.popleft())
        elif self._active == 0 and self._next >= self._count:
            self._finish()
