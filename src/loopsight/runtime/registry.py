"""Which request, background task or lifespan phase each running task is serving.

The middleware writes (on the loop thread: one dict insert and one delete per request); the
watchdog's sampler reads (a signal handler on the loop thread, or the monitor thread), and
only ever with single ``dict.get`` calls, which are atomic under the GIL. Tasks are keyed by
``id(task)``: an entry lives no longer than its task.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from loopsight.runtime._types import Scope
from loopsight.runtime.records import Activity

__all__ = [
    "CURRENT_TASKS",
    "LiveActivity",
    "Registry",
    "current_task_of",
    "mount_prefix",
    "route_template",
]

# asyncio (C and pure-Python tasks) and uvloop both record the running task of each loop here;
# reading it, from any thread, is one dict lookup. On interpreters that moved it, an empty dict
# that knows no task (not ``getattr(...) or {}``: the real dict is empty at import time).
_found = getattr(asyncio.tasks, "_current_tasks", None)
CURRENT_TASKS: dict[Any, Any] = _found if isinstance(_found, dict) else {}


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

    __slots__ = ("background", "done", "kind", "scope", "start")

    def __init__(self, kind: str, scope: Scope, start: float) -> None:
        self.kind = kind
        self.scope = scope
        self.start = start
        self.background = ""
        self.done = False

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

    def find(self, task: asyncio.Task[Any] | None) -> tuple[Activity, LiveActivity | None]:
        """Describe what ``task`` is doing; child tasks inherit their anyio parent's activity."""
        if task is None:
            return Activity(kind="callback"), None
        live = self.live_for(task)
        if live is None:
            return _describe_task(task), None
        return live.snapshot(), live

    def live_for(self, task: asyncio.Task[Any]) -> LiveActivity | None:
        """The live activity of ``task``, or of the nearest anyio parent task that has one.

        Starlette streams responses and FastAPI runs background tasks in anyio child tasks;
        anyio records each child's parent task id, which is exactly our registry key.
        """
        live = self.live.get(id(task))
        if live is not None:
            return live
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
                # Rare: a grandchild. Find the parent task to read its own parent.
                parent = next((t for t in list(states.keys()) if id(t) == parent_id), None)
                state = states.get(parent) if parent is not None else None
        except Exception:  # internals of another anyio version; attribution is best effort
            return None
        return None

    def in_flight(self) -> int:
        """How many HTTP requests are being served (including their background phase)."""
        return sum(1 for a in list(self.live.values()) if a.kind == "request")
