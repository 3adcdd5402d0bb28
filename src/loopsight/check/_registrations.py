"""Framework hooks in one call: which function a call hands to FastAPI or Starlette, and as what.

``Depends(fn)``, ``add_api_route(path, fn)``, ``Route(path, fn)``, ``add_task(fn)``,
``add_exception_handler(exc, fn)``, ``FastAPI(lifespan=fn, on_startup=[fn])`` ... each becomes a
:data:`~loopsight.check._summary.Registration` whose target is resolved across modules later.
"""

from __future__ import annotations

import ast
from collections.abc import Callable

from loopsight.check._summary import Registration, RegistrationKind

__all__ = ["REGISTRARS", "literal", "registrations"]

#: Final names of the calls that register a function with the framework.
REGISTRARS = frozenset(
    {
        "Depends",
        "Security",
        "add_api_route",
        "add_route",
        "add_api_websocket_route",
        "add_websocket_route",
        "Route",
        "APIRoute",
        "WebSocketRoute",
        "APIWebSocketRoute",
        "add_task",
        "BackgroundTask",
        "add_exception_handler",
        "add_event_handler",
        "add_middleware",
        "Middleware",
        "FastAPI",
        "Starlette",
        "APIRouter",
        "Router",
        "include_router",
    }
)
_ROUTES = frozenset({"add_api_route", "add_route", "Route", "APIRoute"})
_WEBSOCKETS = frozenset(
    {"add_api_websocket_route", "add_websocket_route", "WebSocketRoute", "APIWebSocketRoute"}
)

Ref = Callable[[ast.expr], "str | None"]


def literal(node: ast.expr | None) -> str | None:
    """The value of a string literal, else ``None``."""
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def registrations(last: str, node: ast.Call, ref: Ref, scheduler: str) -> list[Registration]:
    """What the call ``node`` (whose callee's final name is ``last``) registers.

    ``ref`` turns an expression into a reference; ``scheduler`` is the qualname of the function
    making the call (a background task is labelled with the route that schedules it).
    """
    found: list[Registration] = []
    args, line, col = node.args, node.lineno, node.col_offset
    keywords = {kw.arg: kw.value for kw in node.keywords if kw.arg is not None}

    def target(index: int, name: str) -> str | None:
        value = args[index] if len(args) > index else keywords.get(name)
        return ref(value) if isinstance(value, (ast.Name, ast.Attribute)) else None

    def emit(kind: RegistrationKind, target_ref: str | None, detail: str | None = "") -> None:
        if target_ref is not None:
            found.append(Registration(kind, target_ref, line, col, detail or ""))

    path = literal(args[0]) if args else literal(keywords.get("path"))
    if last in ("Depends", "Security"):
        emit(RegistrationKind.DEPENDENCY, target(0, "dependency"))
    elif last in _ROUTES:
        methods = keywords.get("methods")
        verbs = "GET"
        if isinstance(methods, (ast.List, ast.Tuple, ast.Set)):
            verbs = ",".join(literal(e) or "?" for e in methods.elts).upper()
        emit(RegistrationKind.ROUTE, target(1, "endpoint"), f"{verbs} {path or ''}".strip())
    elif last in _WEBSOCKETS:
        emit(RegistrationKind.WEBSOCKET, target(1, "endpoint"), f"WS {path or ''}".strip())
    elif last in ("add_task", "BackgroundTask"):
        emit(RegistrationKind.BACKGROUND, target(0, "func"), scheduler)
    elif last == "add_exception_handler":
        emit(RegistrationKind.EXCEPTION, target(1, "handler"))
    elif last == "add_event_handler":
        emit(RegistrationKind.EVENT, target(1, "func"), path)
    elif last == "include_router":
        prefix = literal(keywords.get("prefix"))
        emit(RegistrationKind.INCLUDE, target(0, "router"), prefix)
    elif last in ("add_middleware", "Middleware"):
        emit(RegistrationKind.MIDDLEWARE, target(0, "middleware_class"))
    else:  # FastAPI(...), Starlette(...), APIRouter(...), Router(...)
        _application(keywords, ref, emit)
    return found


def _application(
    keywords: dict[str, ast.expr],
    ref: Ref,
    emit: Callable[[RegistrationKind, str | None, str | None], None],
) -> None:
    lifespan = keywords.get("lifespan")
    if isinstance(lifespan, (ast.Name, ast.Attribute)):
        emit(RegistrationKind.LIFESPAN, ref(lifespan), "")
    for event in ("on_startup", "on_shutdown"):
        handlers = keywords.get(event)
        if isinstance(handlers, (ast.List, ast.Tuple)):
            for handler in handlers.elts:
                if isinstance(handler, (ast.Name, ast.Attribute)):
                    emit(RegistrationKind.EVENT, ref(handler), event[3:])
    handlers = keywords.get("exception_handlers")
    if isinstance(handlers, ast.Dict):
        for value in handlers.values:
            if isinstance(value, (ast.Name, ast.Attribute)):
                emit(RegistrationKind.EXCEPTION, ref(value), "")
