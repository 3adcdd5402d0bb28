"""The pure-ASGI middleware: times each request and adds its timing headers.

Per HTTP request it reads the clock twice, bumps one counter and appends one tuple of plain
values to the runtime's :class:`~loopsight.runtime.requests.RequestLog`, which the watchdog's
tick folds into the aggregates in bulk; if asked to, it appends ``Server-Timing`` and
``X-Process-Time`` to the response start. It registers nothing for stall attribution: a stall
sampler finds the request by this method's frame on the stalled stack and reads the locals
declared at the end of this module (``mark_request_frame``): the scope, the start time and,
with OpenTelemetry on, the span the request entered under (one API call per request then).
Bodies, streaming, websockets and lifespan pass through unchanged; errors in loopsight's own
bookkeeping are swallowed, never raised into the app.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import TYPE_CHECKING

from loopsight.runtime._types import ASGIApp, Message, Receive, Scope, Send
from loopsight.runtime.core import Runtime, get_runtime
from loopsight.runtime.registry import CURRENT_TASKS, LiveActivity, mark_request_frame
from loopsight.runtime.watchdog import LoopWatch

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from loopsight.runtime.endpoints import Endpoints

__all__ = ["LoopsightMiddleware"]

_log = logging.getLogger("loopsight")
_get_running_loop = asyncio.get_running_loop
_current_task = asyncio.current_task
_get_ident = threading.get_ident


class LoopsightMiddleware:
    """Watch the event loop on behalf of ``app`` and time its requests.

    ``server_timing`` adds ``Server-Timing: total;dur=…, stall;dur=…`` (milliseconds: time to
    the response start, and loop stall time while the request was in flight), and
    ``queued;dur=…`` after a stall that ended just before the request started (the request
    most likely arrived during it and waited in the socket: at most that long);
    ``process_time`` adds ``X-Process-Time`` (seconds, as in the usual FastAPI recipe). Both
    are off unless asked for. ``current_span`` (OpenTelemetry on) reads the tracing span each
    request is served under, for its stalls; a request the loop stalled under then sends its
    last body message only once that stall is published, so that its event can still be added
    to that span, which the tracing middleware outside ends with the response.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        runtime: Runtime | None = None,
        server_timing: bool = False,
        process_time: bool = False,
        endpoints: Endpoints | None = None,
        current_span: Callable[[], object] | None = None,
    ) -> None:
        self.app = app
        self.runtime = runtime if runtime is not None else get_runtime()
        self.server_timing = server_timing
        self.process_time = process_time
        self.endpoints = endpoints
        self._prefix = endpoints.prefix if endpoints is not None else None
        self._headers = server_timing or process_time
        self._current_span = current_span
        self._requests = self.runtime.requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # One function: it runs per request, where a Python call costs more than most of these
        # lines (benchmarks/runtime_instructions.py); only the rare branches are methods.
        if scope["type"] != "http":
            await self._not_http(scope, receive, send)
            return
        if self._prefix is not None and scope.get("path", "").startswith(self._prefix):
            assert self.endpoints is not None
            if await self.endpoints.handle(scope, receive, send):
                return
        rt, requests = self.runtime, self._requests
        watch = rt.watch
        # Watched already? On the watched loop's thread, that loop is running a task (ours):
        # two cheap reads, where asyncio.get_running_loop() costs a busy uvicorn worker more
        # than everything else here (seen with py-spy).
        if watch is None or _get_ident() != watch.thread_id or watch.loop not in CURRENT_TASKS:
            watch = self._attach(_get_running_loop())
        clock = rt.clock
        requests.started += 1
        start = clock()
        status = 0
        # The stall that ended just before this request began, if any (one attribute read).
        queued = watch.queued if watch is not None else 0.0
        current_span = self._current_span
        span = current_span() if current_span is not None else None

        # Plain functions returning send's awaitable: no coroutine of our own per message.
        # Two of them rather than one with a branch: this runs once per response message.
        send_wrapper: Send
        if self._headers:
            # One tuple for the closure, not a cell per value: every name a closure reads is a
            # cell, made on every request whether the headers are on or not.
            timing = (
                clock, start, watch, watch.stalled_until(start) if watch is not None else 0.0,
                queued, self.server_timing, self.process_time,
            )  # fmt: skip

            def send_wrapper(message: Message) -> Awaitable[None]:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                    try:  # inlined: a call per response costs more than this body
                        (clock, start, watch, stalled_at_start, queued, server_timing,
                         process_time) = timing  # fmt: skip
                        now = clock()
                        total = now - start
                        headers = [*message.get("headers", ())]
                        if server_timing:
                            # stalled_until(now) - stalled_at_start, inlined (a call cost more)
                            stalled = 0.0
                            if watch is not None:
                                overdue = now - watch.next_due
                                stalled = watch.stalled_total - stalled_at_start
                                if overdue >= watch.watchdog.threshold:
                                    stalled += overdue
                            if stalled <= 0.0:  # the usual case: one float to format, not two
                                value = b"total;dur=%.3f, stall;dur=0.000" % (total * 1000,)
                            else:
                                stalled = total if stalled > total else stalled
                                value = b"total;dur=%.3f, stall;dur=%.3f" % (
                                    total * 1000,
                                    stalled * 1000,
                                )
                            if queued:
                                value += b", queued;dur=%.3f" % (queued * 1000,)
                            headers.append((b"server-timing", value))
                        if process_time:
                            headers.append((b"x-process-time", b"%.6f" % total))
                        # A copy: frameworks may send the same headers list for every response.
                        message = {**message, "headers": headers}
                    except Exception:
                        _log.debug("loopsight could not add timing headers", exc_info=True)
                return send(message)

        else:

            def send_wrapper(message: Message) -> Awaitable[None]:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                return send(message)

        if span is not None and watch is not None:  # served under a span: tracing is on
            send_wrapper = self._hold_stalled(send_wrapper, watch, watch.stalled_until(start))
        try:
            await self.app(scope, receive, send_wrapper)
        except BaseException:
            status = status or 500
            raise
        finally:
            try:
                # The route's id, not the scope: a queued scope would keep the app's objects
                # reachable from young objects and make every garbage collection dearer.
                route = scope.get("route") or scope.get("endpoint")
                route_id = id(route)
                if route_id not in requests.routes:
                    requests.remember_route(route_id, route, scope)
                requests.finished.append(
                    (route_id, scope.get("method"), status, start, clock() - start, queued)
                )
            except Exception:  # bookkeeping must never break the app
                _log.debug("loopsight could not record a request", exc_info=True)

    def _hold_stalled(self, send: Send, watch: LoopWatch, stalled_from: float) -> Send:
        """OpenTelemetry on: hold the last body message of a request the loop stalled under
        until that stall is published (a heartbeat or two), so that its event reaches the
        request's span before the tracing middleware ends it with the response."""
        rt = self.runtime

        async def send_wrapper(message: Message) -> None:
            held = False
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                try:
                    held = watch.stalled_until(rt.clock()) > stalled_from
                except Exception:  # bookkeeping must never break the app
                    _log.debug("loopsight could not tell whether a request stalled", exc_info=True)
            if held:
                await rt.published()
            await send(message)

        return send_wrapper

    async def _not_http(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._lifespan(scope, receive, send)
        elif kind == "websocket":
            await self._passthrough(scope, receive, send, "websocket")
        else:
            await self.app(scope, receive, send)

    def _attach(self, loop: asyncio.AbstractEventLoop) -> LoopWatch | None:
        try:
            return self.runtime.attach(loop)
        except Exception:
            _log.warning("loopsight could not watch this event loop", exc_info=True)
            return None

    async def _passthrough(self, scope: Scope, receive: Receive, send: Send, kind: str) -> None:
        """Register the task for attribution, then hand over untouched (websockets)."""
        task = _current_task()
        live_map = self.runtime.registry.live
        key = id(task)
        previous = live_map.get(key)
        try:
            self._attach(_get_running_loop())
            live_map[key] = LiveActivity(kind, scope, self.runtime.clock())
        except Exception:
            _log.debug("loopsight could not register a %s", kind, exc_info=True)
        try:
            await self.app(scope, receive, send)
        finally:
            if previous is None:
                live_map.pop(key, None)
            else:
                live_map[key] = previous

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Watch from start-up on, so stalls in start-up code are caught and attributed."""
        rt = self.runtime
        task = _current_task()
        key = id(task)
        live = LiveActivity("startup", scope, rt.clock())
        try:
            self._attach(_get_running_loop())
            rt.registry.live[key] = live
        except Exception:
            _log.debug("loopsight could not register the lifespan", exc_info=True)

        async def send_wrapper(message: Message) -> None:
            kind = message.get("type", "")
            if kind.startswith("lifespan.startup."):
                live.kind = "shutdown"  # from here on the lifespan task only runs shutdown code
            await send(message)
            if kind.startswith("lifespan.shutdown."):
                rt.run_shutdown_hooks()

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            rt.registry.live.pop(key, None)


# The stall sampler reads these locals of a stalled request's frame: the request is its scope.
mark_request_frame(LoopsightMiddleware.__call__, scope="scope", start="start", span="span")
