"""Which request, background task or lifespan phase the stalled code was serving.

HTTP requests cost nothing here: the watchdog's sampler, which only runs during a stall, finds
the request by walking the stalled stack up to the middleware's own frame and reading the two
locals the middleware declared (:func:`mark_request_frame`) when it was defined; a Starlette
background task is found the same way, by the monitor's frame (:func:`mark_background_frame`).
A child task (a streamed response, ``BaseHTTPMiddleware``'s ``call_next``) has no such frame;
its anyio parent task's coroutine chain has.

Lifespan and websocket tasks, a few per process, are registered instead: the middleware writes
``live[id(task)]`` on the loop thread, the sampler reads it with one ``dict.get`` (atomic under
the GIL). An entry lives no longer than its task.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from types import CodeType, FrameType
from typing import Any, NamedTuple

from loopsight.runtime._types import Scope
from loopsight.runtime.records import Activity

__all__ = [
    "BACKGROUND_FRAMES",
    "CURRENT_TASKS",
    "REQUEST_FRAMES",
    "LiveActivity",
    "Registry",
    "RequestFrame",
    "current_task_of",
    "mark_background_frame",
    "mark_request_frame",
    "mount_prefix",
    "route_template",
]

# asyncio (C and pure-Python tasks) and uvloop both record the running task of each loop here;
# reading it, from any thread, is one dict lookup. On interpreters that moved it, an empty dict
# that knows no task (not ``getattr(...) or {}``: the real dict is empty at import time).
_found = getattr(asyncio.tasks, "_current_tasks", None)
CURRENT_TASKS: dict[Any, Any] = _found if isinstance(_found, dict) else {}


class RequestFrame(NamedTuple):
    """The locals of a request frame that hold the request's scope and its start time (and,
    optionally, the tracing span the request was served under)."""

    scope: str
    start: str
    span: str = ""


# Code objects whose frames serve a request (the middleware's ``__call__``) or run a background
# task (the background monitor's ``run``), with the locals the sampler reads, as the modules
# that own them declare at import (mark_request_frame, mark_background_frame); this module
# imports neither.
REQUEST_FRAMES: dict[CodeType, RequestFrame] = {}
BACKGROUND_FRAMES: dict[CodeType, str] = {}
_MAX_DEPTH = 512  # frames walked up from a stalled frame, coroutines down from a parent task


def mark_request_frame(
    function: Callable[..., Any], *, scope: str, start: str, span: str = ""
) -> None:
    """Declare that ``function``'s frames serve a request, whose scope and start time (a
    float) are in the locals named ``scope`` and ``start``.

    Checked now: a local renamed without saying so here fails at import, not during a stall.
    A declaration costs the request nothing, where a marker object would cost an allocation.
    """
    names = (scope, start, span) if span else (scope, start)
    REQUEST_FRAMES[_code_with_locals(function, *names)] = RequestFrame(scope, start, span)


def mark_background_frame(function: Callable[..., Any], *, name: str) -> None:
    """Declare that ``function``'s frames run a background task named by the local ``name``."""
    BACKGROUND_FRAMES[_code_with_locals(function, name)] = name


def _code_with_locals(function: Callable[..., Any], *names: str) -> CodeType:
    code: CodeType = function.__code__
    missing = [name for name in names if name not in (*code.co_varnames, *code.co_cellvars)]
    if missing:
        where = getattr(code, "co_qualname", code.co_name)
        raise RuntimeError(f"{where} has no local {', '.join(map(repr, missing))} to mark")
    return code


def current_task_of(loop: asyncio.AbstractEventLoop) -> asyncio.Task[Any] | None:
    """The task ``loop`` is running right now (``None`` if unknown), read safely from any
    thread."""
    task: asyncio.Task[Any] | None = CURRENT_TASKS.get(loop)
    return task


def mount_prefix(scope: Scope) -> str:
    """The path of the mounts the request went through to its route (``/admin`` for a route
    of an app mounted there): what Starlette appended to ``root_path`` since the top-level
    app, less the path of the route itself when that route is the mount (static files)."""
    base = scope.get("app_root_path")
    root = scope.get("root_path", "")
    if not (isinstance(base, str) and isinstance(root, str) and root.startswith(base)):
        return ""
    prefix = root[len(base) :]
    route = scope.get("route")
    own = getattr(route, "path", "")
    # Starlette's Mount, by name: the runtime does not need Starlette to be installed.
    if type(route).__name__ == "Mount" and isinstance(own, str):
        prefix = prefix.removesuffix(own)
    return prefix


def route_template(scope: Scope) -> str:
    """The matched route's path template (``/items/{item_id}``, behind any mount's path), or
    ``""`` before routing.

    A plain ASGI app mounted under FastAPI (static files) gets no ``route`` in the scope, only
    its ``endpoint``: it is labelled like Starlette's own ``Mount``, ``/static/{path}``.
    """
    route = scope.get("route")
    if route is None:
        prefix = mount_prefix(scope) if scope.get("endpoint") is not None else ""
        return prefix + "/{path}" if prefix else ""
    # path_format drops converters: "/items/{item_id:int}" is labelled "/items/{item_id}".
    for attr in ("path_format", "path"):
        value = getattr(route, attr, None)
        if isinstance(value, str) and value:
            return mount_prefix(scope) + value
    return ""


class LiveActivity:
    """A request or phase in progress, shared by the middleware and the stall sampler."""

    __slots__ = ("background", "kind", "scope", "span", "start", "task")

    def __init__(
        self,
        kind: str,
        scope: Scope,
        start: float,
        *,
        background: str = "",
        task: asyncio.Task[Any] | None = None,
        span: Any = None,
    ) -> None:
        self.kind = kind
        self.scope = scope
        self.start = start
        self.background = background
        # For a request found on the stack: it is over when its task is (uvicorn and the
        # like run each request in its own task).
        self.task = task
        self.span = span  # the tracing span the request was served under (OpenTelemetry on)

    def finished(self) -> bool:
        """True once the request's task is over; ``False`` when that cannot be told."""
        task = self.task
        return task is not None and task.done()

    def snapshot(self) -> Activity:
        """A frozen copy, with the route template as known at this instant."""
        scope = self.scope
        background = self.background
        kind = "background" if background else self.kind
        if kind in ("startup", "shutdown"):
            return Activity(kind=kind, name="lifespan")
        return Activity(
            kind=kind,
            method=str(scope.get("method", "GET" if scope.get("type") == "http" else "WS")),
            route=route_template(scope),
            path=str(scope.get("path", "")),
            name=background,
        )


def _describe_task(task: asyncio.Task[Any]) -> Activity:
    try:
        coro = task.get_coro()
        name = getattr(coro, "__qualname__", "") or task.get_name()
    except Exception:  # a foreign task type; the name is only a label
        name = "task"
    return Activity(kind="task", name=str(name))


class Registry:
    """Task id → :class:`LiveActivity`, plus the lookup the stall sampler performs."""

    def __init__(self) -> None:
        self.live: dict[int, LiveActivity] = {}

    def find(
        self, task: asyncio.Task[Any] | None, frame: FrameType | None = None
    ) -> tuple[Activity, LiveActivity | None]:
        """Describe what ``task``, stalled in ``frame``, is doing.

        A registered task (lifespan, websocket) first; then the request whose middleware frame
        is on the stack; then, for a child task, what its anyio parent task is doing.
        """
        live = self.live.get(id(task)) if task is not None else None
        background = ""
        if live is None and frame is not None:
            live, background = _from_frames(frame, task)
        if live is None and task is not None:
            live = self._from_parents(task)
            if live is not None and background and live.kind == "request":
                live.background = background  # a fresh object: a background task in a child
        if live is not None:
            return live.snapshot(), live
        if task is None:
            return Activity(kind="callback"), None
        return _describe_task(task), None

    def _from_parents(self, task: asyncio.Task[Any]) -> LiveActivity | None:
        """What the nearest anyio parent task is doing, registered or serving a request
        (Starlette streams responses, and ``BaseHTTPMiddleware`` runs the rest of the app, in
        anyio child tasks; anyio records each child's parent task id)."""
        module = sys.modules.get("anyio._backends._asyncio")
        states = getattr(module, "_task_states", None)
        if states is None:
            return None
        try:
            state = states.get(task)
            for _ in range(8):
                parent_id = getattr(state, "parent_id", None)
                if parent_id is None:
                    return None
                live = self.live.get(parent_id)
                if live is not None:
                    return live
                parent = next((t for t in list(states.keys()) if id(t) == parent_id), None)
                if parent is None:
                    return None
                live = _from_coroutines(parent)
                if live is not None:
                    return live
                state = states.get(parent)  # a grandchild: ask the parent's parent
        except Exception:  # internals of another anyio version; attribution is best effort
            return None
        return None


def _request(
    frame: FrameType, names: RequestFrame, background: str, task: asyncio.Task[Any] | None
) -> LiveActivity | None:
    local = frame.f_locals
    scope, start = local.get(names.scope), local.get(names.start)
    if not isinstance(scope, dict) or not isinstance(start, float):
        return None  # interrupted before it read its clock
    span = local.get(names.span) if names.span else None
    return LiveActivity("request", scope, start, background=background, task=task, span=span)


def _from_frames(
    frame: FrameType, task: asyncio.Task[Any] | None
) -> tuple[LiveActivity | None, str]:
    """Walk up from ``frame`` to the innermost request frame; also return the name of the
    background task whose frame is on the way (found even when the request is not: a child
    task that runs a background task)."""
    background = ""
    current: FrameType | None = frame
    for _ in range(_MAX_DEPTH):
        if current is None:
            break
        names = REQUEST_FRAMES.get(current.f_code)
        if names is not None:
            return _request(current, names, background, task), background
        name = BACKGROUND_FRAMES.get(current.f_code) if not background else None
        if name is not None:
            background = str(current.f_locals.get(name, ""))
        current = current.f_back
    return None, background


def _from_coroutines(task: asyncio.Task[Any]) -> LiveActivity | None:
    """Walk down the coroutines a suspended ``task`` awaits (``cr_await``; its frames are not
    linked by ``f_back`` while it waits) to a request frame."""
    coro: Any = task.get_coro()
    for _ in range(_MAX_DEPTH):
        frame = getattr(coro, "cr_frame", None)
        if frame is None:
            return None
        names = REQUEST_FRAMES.get(frame.f_code)
        if names is not None:
            return _request(frame, names, "", task)
        coro = getattr(coro, "cr_await", None)
    return None
