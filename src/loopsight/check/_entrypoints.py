"""Which functions run on the event loop, and why (route, dependency, middleware, ...)."""

from __future__ import annotations

from dataclasses import dataclass

from loopsight.check._finding import Finding
from loopsight.check._hooks import EntryKind, EntryPointFound
from loopsight.check._index import FunctionKey, ProjectIndex, TargetKind
from loopsight.check._summary import (
    CALL,
    MAIN_BLOCK,
    Decorator,
    FunctionFacts,
    Registration,
    RegistrationKind,
)
from loopsight.check.rules import HOOKS

__all__ = [
    "Entry",
    "EntryKind",
    "EntryPoints",
    "FunctionKey",
    "find_entrypoints",
]


_HTTP = frozenset({"get", "post", "put", "delete", "patch", "options", "head", "trace"})
#: Decorator attributes of an app or router, and what they declare.
_DECORATOR_KINDS = {
    **dict.fromkeys([*_HTTP, "api_route", "route"], EntryKind.ROUTE),
    "websocket": EntryKind.WEBSOCKET,
    "websocket_route": EntryKind.WEBSOCKET,
    "middleware": EntryKind.MIDDLEWARE,
    "exception_handler": EntryKind.EXCEPTION_HANDLER,
    "on_event": EntryKind.ON_EVENT,
}
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
#: Canonical names of Starlette's ``BaseHTTPMiddleware`` (also behind ``@app.middleware``).
_BASE_HTTP_MIDDLEWARE = frozenset(
    {"starlette.middleware.base.BaseHTTPMiddleware", "fastapi.middleware.base.BaseHTTPMiddleware"}
)
#: Entry kinds whose sync functions still run on the loop.
_SYNC_ON_LOOP = frozenset({EntryKind.ON_EVENT, EntryKind.LIFESPAN})
#: Libraries whose decorators hand a function to a loop of their own (a CLI command's
#: ``asyncio.run``, a task-queue worker), never to the server's.
_FOREIGN_LOOP_LIBRARIES = (
    "typer.",
    "click.",
    "asyncclick.",
    "cyclopts.",
    "celery.",
    "dramatiq.",
    "taskiq.",
    "taskiq_",
    "arq.",
    "huey.",
    "rq.",
    "faststream.",
)
_REGISTRATION_KIND = {
    RegistrationKind.ROUTE: EntryKind.ROUTE,
    RegistrationKind.WEBSOCKET: EntryKind.WEBSOCKET,
    RegistrationKind.DEPENDENCY: EntryKind.DEPENDENCY,
    RegistrationKind.BACKGROUND: EntryKind.BACKGROUND_TASK,
    RegistrationKind.EXCEPTION: EntryKind.EXCEPTION_HANDLER,
    RegistrationKind.EVENT: EntryKind.ON_EVENT,
    RegistrationKind.LIFESPAN: EntryKind.LIFESPAN,
}


@dataclass(slots=True)
class Entry:
    """A function that runs on the loop: its kind and, for routes, ``"GET /path"``."""

    kind: EntryKind
    route: str | None = None
    #: an async function that runs as ``kind`` because such an entry point awaits it
    awaited: bool = False


@dataclass(slots=True)
class EntryPoints:
    """What the entry-point step found: loop functions, the findings the families' entry-point
    hooks made of their declarations, every HTTP route."""

    loop: dict[FunctionKey, Entry]
    findings: list[Finding]
    routes: dict[FunctionKey, str]


def _is_app(index: ProjectIndex, receiver: str) -> bool:
    """Whether ``receiver`` is a FastAPI/Starlette app or router (or a project subclass)."""
    target = index.resolve(receiver)
    if target is None:
        return False
    if target.kind is TargetKind.LIBRARY:
        return target.name in _APP_TYPES
    if target.kind is TargetKind.INSTANCE:
        return index.subclasses_library(target.name, target.qualname, _APP_CLASSES)
    return False


class _Finder:
    def __init__(self, index: ProjectIndex, extra_routes: frozenset[str]) -> None:
        self.index = index
        self.extra_routes = extra_routes
        self.entries: dict[FunctionKey, Entry] = {}
        self.findings: list[Finding] = []
        #: background task -> the function that schedules it (its route names the task's)
        self.adders: dict[FunctionKey, FunctionKey] = {}
        #: router (module, name) -> the prefix ``include_router`` mounts it under
        self.included: dict[tuple[str, str], str] = {}
        #: every HTTP route declared by a decorator, sync or async, with its ``"GET /path"``
        self.routes: dict[FunctionKey, str] = {}

    def mark(self, key: FunctionKey, kind: EntryKind, route: str | None = None) -> None:
        facts = self.index.function(*key)
        if facts is None or (not facts.is_async and kind not in _SYNC_ON_LOOP):
            return  # sync routes, dependencies, tasks and handlers run in the thread pool
        current = self.entries.get(key)
        if current is None or kind.rank < current.kind.rank:
            self.entries[key] = Entry(kind, route)

    def declared(
        self, module: str, kind: EntryKind, line: int, col: int, subject: str, base_http: bool
    ) -> None:
        """Tell the families' entry-point hooks about a declaration."""
        path = self.index.modules[module].path
        found = EntryPointFound(kind, path, line, col, subject, base_http)
        for hook in HOOKS.entrypoint:
            self.findings += hook(found)

    def decorators(self, module: str, facts: FunctionFacts) -> None:
        key = FunctionKey(module, facts.qualname)
        for decorator in facts.decorators:
            declared = self.decorator_entry(decorator)
            if declared is None:
                continue
            kind, label, http_route = declared
            self.mark(key, kind, label)
            if http_route and label is not None:
                self.routes.setdefault(key, label)
            base_http = kind is EntryKind.MIDDLEWARE and decorator.first == "http"
            self.declared(module, kind, decorator.line, facts.col, facts.qualname, base_http)

    def decorator_entry(self, decorator: Decorator) -> tuple[EntryKind, str | None, bool] | None:
        """What a decorator declares: the entry kind, its route label, whether it is an HTTP
        route of an app or router."""
        ref, first, methods, _ = decorator
        receiver, _, attr = (ref or "").rpartition(".")
        if not receiver:
            return None
        kind = _DECORATOR_KINDS.get(attr)
        if kind is not None and _is_app(self.index, receiver):
            if kind is not EntryKind.ROUTE and kind is not EntryKind.WEBSOCKET:
                return kind, None, False
            path = self.prefix(receiver) + (first or "")
            if kind is EntryKind.WEBSOCKET:
                return kind, f"WS {path}".strip(), False
            verbs = attr.upper() if attr in _HTTP else (methods or "GET")
            return kind, f"{verbs} {path}".strip(), True
        if self.extra_routes and ref is not None:
            target = self.index.resolve(ref)
            if target is not None and target.kind is TargetKind.LIBRARY:
                return (EntryKind.ROUTE, first, False) if target.name in self.extra_routes else None
        return None

    def origin(self, ref: str, depth: int = 0) -> tuple[str, str] | None:
        """The module-level name a reference to a router ends at, through imports and aliases."""
        module, colon, name = ref.partition(":")
        if not colon:
            module, _, name = ref.rpartition(".")
        summary = self.index.modules.get(module)
        if summary is None or "." in name or "(" in name or depth > 8:
            return None
        symbol = summary.symbols.get(name)
        kind, value = symbol if symbol is not None else ("unknown", "")
        if kind == "ref" and name not in summary.prefixes:
            followed = self.origin(value, depth + 1)
            if followed is not None:
                return followed
        return (module, name)

    def prefix(self, receiver: str) -> str:
        """``include_router(prefix=...)`` + ``APIRouter(prefix=...)`` of a decorator's router."""
        origin = self.origin(receiver)
        if origin is None:
            return ""
        module, name = origin
        own = self.index.modules[module].prefixes.get(name, "")
        return self.included.get(origin, "") + own

    def registration(self, module: str, registration: Registration) -> None:
        kind, ref, _, _, detail = registration
        target = self.index.resolve(ref)
        if target is None:
            return
        if kind is RegistrationKind.INCLUDE:
            origin = self.origin(ref)
            if origin is not None and detail:
                self.included.setdefault(origin, detail)
            return
        if kind is RegistrationKind.MIDDLEWARE:
            if target.kind is TargetKind.CLASS:
                self.middleware_class(target.name, target.qualname)
            return
        if target.kind is TargetKind.FUNCTION:
            routed = kind is RegistrationKind.ROUTE or kind is RegistrationKind.WEBSOCKET
            self.mark(target.key, _REGISTRATION_KIND[kind], detail if routed and detail else None)
            if kind is RegistrationKind.BACKGROUND and detail:
                self.adders[target.key] = FunctionKey(module, detail)
        elif target.kind is TargetKind.INSTANCE and kind is RegistrationKind.DEPENDENCY:
            call = self.index.resolve(f"{target.name}:{target.qualname}.__call__")
            if call is not None and call.kind is TargetKind.FUNCTION:
                self.mark(call.key, EntryKind.DEPENDENCY)

    def middleware_class(self, module: str, qualname: str) -> None:
        for method in ("dispatch", "__call__"):
            target = self.index.resolve(f"{module}:{qualname}.{method}")
            if target is not None and target.kind is TargetKind.FUNCTION:
                self.mark(target.key, EntryKind.MIDDLEWARE)

    def classes(self, module: str) -> None:
        summary = self.index.modules[module]
        for qualname, facts in summary.classes.items():
            if self.index.subclasses_library(module, qualname, _BASE_HTTP_MIDDLEWARE):
                kind, line, col = EntryKind.MIDDLEWARE, facts.line, facts.col
                self.declared(module, kind, line, col, qualname, base_http=True)
                self.middleware_class(module, qualname)
            elif f"{qualname}.__call__" in summary.functions:
                call = summary.functions[f"{qualname}.__call__"]
                if call.is_async and call.class_qualname == qualname:
                    self.mark(FunctionKey(module, call.qualname), EntryKind.MIDDLEWARE)
                    kind, line, col = EntryKind.MIDDLEWARE, facts.line, facts.col
                    self.declared(module, kind, line, col, qualname, base_http=False)


def _foreign_decorator(index: ProjectIndex, decorator: Decorator) -> bool:
    """Whether a decorator belongs to a CLI or task-queue library (``@app.command()`` of a
    ``typer.Typer()``, ``@click.command()``, ``@broker.task``, ``@dramatiq.actor``)."""
    ref = decorator.ref
    if ref is None:
        return False
    for candidate in (ref, ref.rpartition(".")[0]):
        target = index.resolve(candidate) if candidate else None
        if target is not None and target.kind is TargetKind.LIBRARY:
            return target.name.startswith(_FOREIGN_LOOP_LIBRARIES)
    return False


#: Module name parts of command-line code.
_CLI_MODULE_PARTS = frozenset({"cli", "_cli", "__main__", "commands"})


def _runs_own_loop(index: ProjectIndex, module: str, facts: FunctionFacts) -> bool:
    """Whether a sync function that creates a coroutine starts a loop of its own for it: a
    ``main`` function, a module's ``if __name__ == "__main__":`` block, a CLI command, or any
    function of a ``cli``/``__main__`` module.

    Elsewhere a sync function may well hand the coroutine to the running server loop
    (``loop.create_task(coro())``), so it stays a root."""
    if facts.qualname in ("main", MAIN_BLOCK) or not _CLI_MODULE_PARTS.isdisjoint(
        module.split(".")
    ):
        return True
    return any(_foreign_decorator(index, decorator) for decorator in facts.decorators)


_Awaits = dict[FunctionKey, list[FunctionKey]]


def _foreign_loop(
    index: ProjectIndex, declared: dict[FunctionKey, Entry]
) -> tuple[set[FunctionKey], _Awaits]:
    """Async functions whose loop belongs to something else, so not server-loop roots.

    Roots of a foreign loop: async functions a CLI or task-queue decorator declares, and
    coroutines a CLI's sync code creates without awaiting them (``asyncio.run(main())``). Async
    functions they await stay off the server loop unless a server-side async function (a
    declared entry point or any other async function) awaits them too. Also every
    function's awaited async functions that are not declared entry points.
    """
    foreign: set[FunctionKey] = set()
    awaited_by: dict[FunctionKey, list[FunctionKey]] = {}
    for module, summary in index.modules.items():
        for qualname, facts in summary.functions.items():
            key = FunctionKey(module, qualname)
            declares = any(_foreign_decorator(index, d) for d in facts.decorators)
            if declares and facts.is_async and key not in declared:
                foreign.add(key)
            for ref, _, _, mode in facts.calls:
                target = index.resolve(ref)
                if target is None or target.kind is not TargetKind.FUNCTION:
                    continue
                called = index.function(*target.key)
                if called is None or not called.is_async or target.key in declared:
                    continue
                if mode == CALL and not facts.is_async and _runs_own_loop(index, module, facts):
                    foreign.add(target.key)  # ``asyncio.run(main())`` in a CLI's sync code
                else:
                    awaited_by.setdefault(target.key, []).append(key)
    callees: _Awaits = {}
    for callee, callers in awaited_by.items():
        for caller in callers:
            callees.setdefault(caller, []).append(callee)
    if not foreign:
        return foreign, callees
    # the foreign closure: what foreign roots await, transitively
    closure, stack = set(foreign), list(foreign)
    while stack:
        for callee in callees.get(stack.pop(), ()):
            if callee not in closure:
                closure.add(callee)
                stack.append(callee)
    # back on the server loop: anything awaited by an async function outside the closure
    server = [
        callee
        for callee in closure
        if any(caller not in closure for caller in awaited_by.get(callee, ()))
    ]
    while server:
        key = server.pop()
        if key in closure:
            closure.discard(key)
            server.extend(callees.get(key, ()))
    return closure, callees


def _inherit(entries: dict[FunctionKey, Entry], callees: _Awaits) -> None:
    """Async functions no entry point declares run as what awaits them: each takes the most
    specific kind (and route) of the entry points that reach it through awaits."""
    declared = sorted(
        (key for key, entry in entries.items() if entry.kind is not EntryKind.ASYNC_FUNCTION),
        key=lambda key: entries[key].kind.rank,
    )
    settled: set[FunctionKey] = set()
    for root in declared:
        origin = entries[root]
        stack = list(callees.get(root, ()))
        while stack:
            key = stack.pop()
            current = entries.get(key)
            if key in settled or current is None or current.kind is not EntryKind.ASYNC_FUNCTION:
                continue
            settled.add(key)
            entries[key] = Entry(origin.kind, origin.route, awaited=True)
            stack.extend(callees.get(key, ()))


def find_entrypoints(
    index: ProjectIndex, extra_routes: frozenset[str] = frozenset()
) -> EntryPoints:
    """Every function that runs on the loop with its kind, the entry-point hooks' findings, and
    every HTTP route declared by a decorator (sync ones included) with its label."""
    finder = _Finder(index, extra_routes)
    for module, summary in index.modules.items():
        for registration in summary.registrations:
            finder.registration(module, registration)
    for module, summary in index.modules.items():
        for facts in summary.functions.values():
            if facts.decorators:
                finder.decorators(module, facts)
        finder.classes(module)
    foreign, callees = _foreign_loop(index, finder.entries)
    for module, summary in index.modules.items():
        for qualname, facts in summary.functions.items():
            if FunctionKey(module, qualname) in foreign:
                continue  # run by a CLI command or task-queue worker's own loop
            if facts.context_manager and "lifespan" in facts.qualname.lower():
                # entered by the app's lifespan
                finder.mark(FunctionKey(module, qualname), EntryKind.LIFESPAN)
            elif facts.is_async:
                finder.mark(FunctionKey(module, qualname), EntryKind.ASYNC_FUNCTION)
    _inherit(finder.entries, callees)
    for task, adder in finder.adders.items():
        entry, scheduler = finder.entries.get(task), finder.entries.get(adder)
        if entry is not None and entry.kind is EntryKind.BACKGROUND_TASK and scheduler is not None:
            entry.route = scheduler.route
    return EntryPoints(finder.entries, finder.findings, finder.routes)
