"""Which functions run on the event loop, and why (route, dependency, middleware, ...)."""

from __future__ import annotations

from dataclasses import dataclass

from loopsight.check._index import ProjectIndex
from loopsight.check._summary import FunctionFacts
from loopsight.check.rules.fastapi import BASE_HTTP_MIDDLEWARE

__all__ = [
    "KIND_TEXT",
    "Entry",
    "EntryPoints",
    "FrameworkFinding",
    "FunctionKey",
    "find_entrypoints",
]

FunctionKey = tuple[str, str]

#: Context kinds, most specific first, with the words used in messages.
KIND_TEXT = {
    "route": "async route",
    "websocket": "websocket route",
    "dependency": "async dependency",
    "middleware": "middleware",
    "lifespan": "lifespan",
    "on_event": "event handler",
    "exception_handler": "async exception handler",
    "background_task": "async background task",
    "async_function": "async function",
}
_PRIORITY = {kind: rank for rank, kind in enumerate(KIND_TEXT)}
_HTTP = frozenset({"get", "post", "put", "delete", "patch", "options", "head", "trace"})
_ROUTE_ATTRS = _HTTP | {"api_route", "route", "websocket", "websocket_route"}
_APP_TYPES = frozenset(
    {
        "fastapi.FastAPI()",
        "fastapi.APIRouter()",
        "fastapi.routing.APIRouter()",
        "fastapi.applications.FastAPI()",
        "starlette.applications.Starlette()",
        "starlette.routing.Router()",
    }
)
_APP_CLASSES = frozenset(name[:-2] for name in _APP_TYPES)
#: Registrations whose sync targets still run on the loop.
_SYNC_ON_LOOP = frozenset({"on_event", "lifespan"})
_REGISTRATION_KIND = {
    "route": "route",
    "websocket": "websocket",
    "dependency": "dependency",
    "background": "background_task",
    "exception": "exception_handler",
    "event": "on_event",
    "lifespan": "lifespan",
}


@dataclass(slots=True)
class Entry:
    """A function that runs on the loop: its kind and, for routes, ``"GET /path"``."""

    kind: str
    route: str | None = None


@dataclass(slots=True)
class EntryPoints:
    """What the entry-point step found: loop functions, LS5xx findings, every HTTP route."""

    loop: dict[FunctionKey, Entry]
    framework: list[FrameworkFinding]
    routes: dict[FunctionKey, str]


@dataclass(frozen=True, slots=True)
class FrameworkFinding:
    """A configuration finding (LS5xx) found while looking for entry points."""

    code: str
    module: str
    line: int
    col: int
    subject: str


def _is_app(index: ProjectIndex, receiver: str) -> bool:
    """Whether ``receiver`` is a FastAPI/Starlette app or router (or a project subclass)."""
    target = index.resolve(receiver)
    if target is None:
        return False
    if target[0] == "X":
        return target[1] in _APP_TYPES
    if target[0] == "I":
        return index.subclasses_library(target[1], target[2], _APP_CLASSES)
    return False


class _Finder:
    def __init__(self, index: ProjectIndex, extra_routes: frozenset[str]) -> None:
        self.index = index
        self.extra_routes = extra_routes
        self.entries: dict[FunctionKey, Entry] = {}
        self.findings: list[FrameworkFinding] = []
        #: background task -> the function that schedules it (its route names the task's)
        self.adders: dict[FunctionKey, FunctionKey] = {}
        #: router (module, name) -> the prefix ``include_router`` mounts it under
        self.included: dict[tuple[str, str], str] = {}
        #: every HTTP route declared by a decorator, sync or async, with its ``"GET /path"``
        self.routes: dict[FunctionKey, str] = {}

    def mark(self, key: FunctionKey, kind: str, route: str | None = None) -> None:
        facts = self.index.function(*key)
        if facts is None or (not facts.is_async and kind not in _SYNC_ON_LOOP):
            return  # sync routes, dependencies, tasks and handlers run in the thread pool
        current = self.entries.get(key)
        if current is None or _PRIORITY[kind] < _PRIORITY[current.kind]:
            self.entries[key] = Entry(kind, route)

    def decorators(self, module: str, facts: FunctionFacts) -> None:
        key = (module, facts.qualname)
        for ref, first, methods, line in facts.decorators:
            if ref is None:
                continue
            receiver, _, attr = ref.rpartition(".")
            if not receiver:
                continue
            if attr in _ROUTE_ATTRS and _is_app(self.index, receiver):
                path = self.prefix(receiver) + (first or "")
                if attr.startswith("websocket"):
                    self.mark(key, "websocket", f"WS {path}".strip())
                else:
                    verbs = attr.upper() if attr in _HTTP else (methods or "GET")
                    label = f"{verbs} {path}".strip()
                    self.mark(key, "route", label)
                    self.routes.setdefault(key, label)
            elif attr == "middleware" and _is_app(self.index, receiver):
                self.mark(key, "middleware")
                if first == "http":
                    self.findings.append(
                        FrameworkFinding("LS501", module, line, facts.col, facts.qualname)
                    )
            elif attr == "exception_handler" and _is_app(self.index, receiver):
                self.mark(key, "exception_handler")
            elif attr == "on_event" and _is_app(self.index, receiver):
                self.mark(key, "on_event")
            elif self.extra_routes:
                target = self.index.resolve(ref)
                if target is not None and target[0] == "X" and target[1] in self.extra_routes:
                    self.mark(key, "route", first)

    def origin(self, ref: str, depth: int = 0) -> tuple[str, str] | None:
        """The module-level name a reference to a router ends at, through imports and aliases."""
        module, colon, name = ref.partition(":")
        if not colon:
            module, _, name = ref.rpartition(".")
        summary = self.index.modules.get(module)
        if summary is None or "." in name or "(" in name or depth > 8:
            return None
        symbol = summary.symbols.get(name)
        if symbol is not None and symbol[0] == "r" and name not in summary.prefixes:
            followed = self.origin(symbol[1], depth + 1)
            if followed is not None:
                return followed
        return (module, name)

    def prefix(self, receiver: str) -> str:
        """``include_router(prefix=...)`` + ``APIRouter(prefix=...)`` of a decorator's router."""
        origin = self.origin(receiver)
        if origin is None:
            return ""
        own = self.index.modules[origin[0]].prefixes.get(origin[1], "")
        return self.included.get(origin, "") + own

    def registration(
        self, module: str, kind: str, ref: str, line: int, col: int, detail: str
    ) -> None:
        target = self.index.resolve(ref)
        if target is None:
            return
        if kind == "include":
            origin = self.origin(ref)
            if origin is not None and detail:
                self.included.setdefault(origin, detail)
            return
        if kind == "middleware":
            if target[0] == "C":
                self.middleware_class(target[1], target[2])
            return
        if target[0] == "F":
            route = detail if kind in ("route", "websocket") and detail else None
            self.mark((target[1], target[2]), _REGISTRATION_KIND[kind], route)
            if kind == "background" and detail:
                self.adders[(target[1], target[2])] = (module, detail)
        elif target[0] == "I" and kind == "dependency":
            call = self.index.resolve(f"{target[1]}:{target[2]}.__call__")
            if call is not None and call[0] == "F":
                self.mark((call[1], call[2]), "dependency")

    def middleware_class(self, module: str, qualname: str) -> None:
        for method in ("dispatch", "__call__"):
            target = self.index.resolve(f"{module}:{qualname}.{method}")
            if target is not None and target[0] == "F":
                self.mark((target[1], target[2]), "middleware")

    def classes(self, module: str) -> None:
        summary = self.index.modules[module]
        for qualname, facts in summary.classes.items():
            if self.index.subclasses_library(module, qualname, BASE_HTTP_MIDDLEWARE):
                self.findings.append(
                    FrameworkFinding("LS501", module, facts.line, facts.col, qualname)
                )
                self.middleware_class(module, qualname)
            elif f"{qualname}.__call__" in summary.functions:
                call = summary.functions[f"{qualname}.__call__"]
                if call.is_async and call.class_qualname == qualname:
                    self.mark((module, call.qualname), "middleware")


def find_entrypoints(
    index: ProjectIndex, extra_routes: frozenset[str] = frozenset()
) -> EntryPoints:
    """Every function that runs on the loop with its kind, LS5xx configuration findings, and
    every HTTP route declared by a decorator (sync ones included) with its label."""
    finder = _Finder(index, extra_routes)
    for module, summary in index.modules.items():
        for kind, ref, line, col, detail in summary.registrations:
            finder.registration(module, kind, ref, line, col, detail)
    for module, summary in index.modules.items():
        for facts in summary.functions.values():
            if facts.decorators:
                finder.decorators(module, facts)
        finder.classes(module)
    for module, summary in index.modules.items():
        for qualname, facts in summary.functions.items():
            if facts.context_manager and "lifespan" in facts.qualname.lower():
                finder.mark((module, qualname), "lifespan")  # entered by the app's lifespan
            elif facts.is_async:
                finder.mark((module, qualname), "async_function")
    for task, adder in finder.adders.items():
        entry, scheduler = finder.entries.get(task), finder.entries.get(adder)
        if entry is not None and entry.kind == "background_task" and scheduler is not None:
            entry.route = scheduler.route
    return EntryPoints(finder.entries, finder.findings, finder.routes)
