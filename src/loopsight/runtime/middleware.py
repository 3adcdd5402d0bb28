"""The pure-ASGI middleware: registers each request with the watchdog and adds timing headers.

Per request it does one dict insert and one delete (the registry), two clock reads, one
aggregate update and, if enabled, appends ``Server-Timing`` and ``X-Process-Time`` to the
response start. Bodies, streaming, websockets and lifespan pass through unchanged; errors in
loopsight's own bookkeeping are swallowed, never raised into the app.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from bisect import bisect_left as _bisect_left
from typing import TYPE_CHECKING

from loopsight.runtime._types import ASGIApp, Message, Receive, Scope, Send
from loopsight.runtime.core import Runtime, get_runtime
from loopsight.runtime.registry import CURRENT_TASKS, LiveActivity
from loopsight.runtime.watchdog import LoopWatch

if TYPE_CHECKING:
    from loopsight.runtime.endpoints import Endpoints

__all__ = ["LoopsightMiddleware"]

_log = logging.getLogger("loopsight")
_get_running_loop = asyncio.get_running_loop
_current_task = asyncio.current_task
_get_ident = threading.get_ident
_new_object = object.__new__


class LoopsightMiddleware:
    """Watch the event loop on behalf of ``app`` and time its requests.

    ``server_timing`` adds ``Server-Timing: total;dur=…, stall;dur=…`` (milliseconds: time to
    the response start, and loop stall time while the request was in flight);
    ``process_time`` adds ``X-Process-Time`` (seconds, as in the usual FastAPI recipe).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        runtime: Runtime | None = None,
        server_timing: bool = True,
        process_time: bool = True,
        endpoints: Endpoints | None = None,
    ) -> None:
        self.app = app
        self.runtime = runtime if runtime is not None else get_runtime()
        self.server_timing = server_timing
        self.process_time = process_time
        self.endpoints = endpoints
        self._prefix = endpoints.prefix if endpoints is not None else None
        self._headers = server_timing or process_time

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind != "http":
            if kind == "lifespan":
                await self._lifespan(scope, receive, send)
            elif kind == "websocket":
                await self._passthrough(scope, receive, send, "websocket")
            else:
                await self.app(scope, receive, send)
            return
        if self._prefix is not None and scope.get("path", "").startswith(self._prefix):
            assert self.endpoints is not None
            if await self.endpoints.handle(scope, receive, send):
                return

        rt = self.runtime
        watch = rt.watch
        # The task serving this request, by one dict lookup: on the watched loop's thread, the
        # task that loop is running is ours (a thread runs one loop at a time). Only a first
        # request, or one on another loop, pays for asyncio.get_running_loop(), which costs a
        # busy uvicorn worker more than everything else here (seen with py-spy).
        task = None
        if watch is not None and _get_ident() == watch.thread_id:
            task = CURRENT_TASKS.get(watch.loop)
        if task is None:
            loop = _get_running_loop()
            if loop is not rt.loop or watch is None:
                watch = self._attach(loop)
            task = CURRENT_TASKS.get(loop) or _current_task(loop)
        key = id(task)
        live_map = rt.registry.live
        clock = rt.clock
        start = clock()
        # LiveActivity("request", scope, start) without the __init__ call (a second eval loop).
        live = _new_object(LiveActivity)
        live.kind = "request"
        live.scope = scope
        live.start = start
        live.background = ""
        live.done = False
        previous = live_map.get(key)
        live_map[key] = live
        status = 0

        # Two closures rather than one with a branch: this runs once per response message.
        if self._headers:
            # LoopWatch.stalled_until(start), inlined (a Python call costs more than its body).
            stalled_at_start = 0.0
            if watch is not None:
                stalled_at_start = watch.stalled_total
                overdue = start - watch.next_due
                if overdue >= watch.watchdog.threshold:
                    stalled_at_start += overdue
            server_timing = self.server_timing
            process_time = self.process_time

            async def send_wrapper(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                    # _timed, inlined: a method call per response costs more than its body.
                    try:
                        now = clock()
                        total = now - start
                        headers = [*message.get("headers", ())]
                        if server_timing:
                            stalled = rt.stalled_until(now) - stalled_at_start
                            if stalled <= 0.0:  # the usual case: one float to format, not two
                                value = b"total;dur=%.3f, stall;dur=0.000" % (total * 1000,)
                            else:
                                stalled = total if stalled > total else stalled
                                value = b"total;dur=%.3f, stall;dur=%.3f" % (
                                    total * 1000,
                                    stalled * 1000,
                                )
                            headers.append((b"server-timing", value))
                        if process_time:
                            headers.append((b"x-process-time", b"%.6f" % total))
                        # A copy: frameworks may send the same headers list for every response.
                        message = dict(message)
                        message["headers"] = headers
                    except Exception:
                        _log.debug("loopsight could not add timing headers", exc_info=True)
                await send(message)

        else:

            async def send_wrapper(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except BaseException:
            status = status or 500
            raise
        finally:
            end = clock()
            live.done = True
            if previous is None:
                live_map.pop(key, None)
            else:
                live_map[key] = previous
            try:
                # Aggregated by route identity (routes are not hashable), resolved to the
                # route template only when exported.
                # A plain ASGI app mounted under FastAPI has an endpoint but no route.
                route = scope.get("route") or scope.get("endpoint")
                route_id = id(route)
                if route_id not in rt.routes:
                    rt.remember_route(route_id, route, scope)
                method = scope.get("method")
                # HistogramSet.observe, inlined: this is the hottest line loopsight has.
                requests = rt.requests
                row = requests.series.get((route_id, method, status))
                if row is None:
                    requests.observe((route_id, method, status), end - start)
                else:
                    row[_bisect_left(requests.bounds, end - start)] += 1
                    row[-1] += end - start
                if rt.trace_requests:
                    rt.recent.append((start, end, method, route_id, status))
            except Exception:  # bookkeeping must never break the app
                _log.debug("loopsight could not record a request", exc_info=True)

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
