"""The closed loop: ``c`` connections, each sending its next request when the last completes."""

from __future__ import annotations

import asyncio
import math

from loopsight.load._config import LoadConfig
from loopsight.load._connection import Connection
from loopsight.load._run import Outputs, Run

__all__ = ["ClosedLoop"]


class ClosedLoop(Run):
    """``c`` connections, each sending its next request as soon as the previous completes."""

    def __init__(
        self,
        config: LoadConfig,
        loop: asyncio.AbstractEventLoop,
        outputs: Outputs,
    ) -> None:
        super().__init__(config, loop, outputs)
        self._left = config.n if config.n is not None else -1  # -1: bounded by the deadline
        self._deadline = math.inf
        self._probe = config.open_mode == "ab"

    def _start(self) -> None:
        now = self._t0
        if self.config.duration is not None:
            self._deadline = now + self.config.duration
        for _ in range(1 if self._probe else self._c):
            if self._take(now):
                self._open(now)

    def _take(self, now: float) -> bool:
        if self._stopped:
            return False
        if self._left > 0:
            self._left -= 1
        elif self._left == 0 or now >= self._deadline:
            return False
        self._active += 1
        return True

    def on_response(
        self, conn: Connection, start: float, now: float, status: int, nbytes: int, keep: bool
    ) -> None:
        """Part of the :class:`Owner` protocol: record, then send the next request."""
        if not self._record_answer(start, now, status, nbytes):
            return
        if self._probe:
            self._probe = False
            for _ in range(self._c - 1):
                if self._take(now):
                    self._open(now)
        if keep:
            if self._take(now):
                conn.send(now, now)
                return
            conn.close()
        else:
            self._conns.discard(conn)
            if self._take(now):
                self._open(now)
                return
        if self._active == 0:
            self._finish()

    def _replace(self, now: float) -> None:
        if self._probe:
            self._probe = False  # a failed probe still ends the probe phase
            for _ in range(self._c - 1):
                if self._take(now):
                    self._open(now)
        if self._take(now):
            self._open(now)
        elif self._active == 0:
            self._finish()
