"""What the engine tells rule families: the events their hooks receive.

The engine finds facts (a call on the loop, a coroutine dropped, an entry point, a dependency
of a route); the families decide what is a finding. Each event is a small frozen record; the
findings hooks return are built by :meth:`~loopsight.check.rules.Rule.finding`.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import NamedTuple

from loopsight.check._finding import Hop
from loopsight.check._summary import Dependency, FunctionFacts

__all__ = ["STARTUP", "CallSeen", "DependencyFound", "EntryKind", "EntryPointFound"]


class EntryKind(Enum):
    """Why a function runs on the loop, most specific first; ``text`` is the word messages use."""

    ROUTE = ("route", "async route")
    WEBSOCKET = ("websocket", "websocket route")
    DEPENDENCY = ("dependency", "async dependency")
    MIDDLEWARE = ("middleware", "middleware")
    LIFESPAN = ("lifespan", "lifespan")
    ON_EVENT = ("on_event", "event handler")
    EXCEPTION_HANDLER = ("exception_handler", "async exception handler")
    BACKGROUND_TASK = ("background_task", "async background task")
    ASYNC_FUNCTION = ("async_function", "async function")

    def __init__(self, label: str, text: str) -> None:
        self.label = label  # the name in JSON output and ``Context.kind``
        self.text = text
        self.rank = len(type(self).__members__)  # declaration order: lower is more specific


#: Entry kinds that run once per process, not per request.
STARTUP = frozenset({EntryKind.LIFESPAN, EntryKind.ON_EVENT})


class CallSeen(NamedTuple):
    """A library call the catalogue gave a code, inside a function, as the walk saw it.

    ``lazy_init``: the call sits under ``if x is None:`` (made once, not per call).
    """

    code: str
    callee: str
    line: int
    col: int
    lazy_init: bool


class EntryPointFound(NamedTuple):
    """A declaration that makes a function (or class) run on the loop, where it is written.

    ``base_http``: a middleware that runs through Starlette's ``BaseHTTPMiddleware``
    (``@app.middleware("http")`` or a subclass).
    """

    kind: EntryKind
    path: str
    line: int
    col: int
    subject: str
    base_http: bool = False


class DependencyFound(NamedTuple):
    """A route parameter filled by a project dependency.

    ``holding(accepts)`` walks from the dependency down its sub-dependencies to the first sync
    generator that holds a library resource ``accepts`` (a canonical type) open at a ``yield``:
    the hops from the dependency to that generator, or ``None``.
    """

    route: FunctionFacts
    label: str
    path: str
    parameter: Dependency
    holding: Callable[[Callable[[str], bool]], list[Hop] | None]
