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

__all__ = [
    "STARTUP",
    "CallSeen",
    "DependencyFound",
    "EntryKind",
    "EntryPointFound",
    "call_context",
    "call_seen",
    "never_on_loop",
]


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
    ``once``: the call runs on a first call only (``lazy_init``, or the function is cached
    with ``functools.cache``/``lru_cache``). ``guard``: the call sits under a debug/test flag
    (``"flag"``) or after a check that leaves when a loop runs (``"loop"``), else ``""``.
    ``lock_body``: for ``with lock:``, ``"memory"`` when the body only touches in-memory state,
    ``"lazy"`` when it is a double-checked ``if x is None:`` init, else ``""``.
    ``awaited``: the call's result is awaited (the value is async whatever its type says).
    ``no_disk``: its first argument is an in-memory buffer (``io.BytesIO(...)``) or a kernel
    file under ``/proc`` or ``/sys``. ``no_wait``: it is asked not to wait (``os.WNOHANG``,
    ``block=False``, ``blocking=False``, ``timeout=0``). ``opened_only``: it opens what a
    ``with`` closes again with nothing done in between (``with os.scandir(p): pass``).
    """

    code: str
    callee: str
    line: int
    col: int
    lazy_init: bool
    once: bool = False
    guard: str = ""
    lock_body: str = ""
    awaited: bool = False
    no_disk: bool = False
    no_wait: bool = False
    opened_only: bool = False


_LAZY, _ONCE, _FLAG, _LOOP, _MEMORY_LOCK, _LAZY_LOCK = 1, 2, 4, 8, 16, 32
#: What the call's own shape says (``call_shape``), packed beside its context.
AWAITED_CALL, NO_DISK, NO_WAIT, OPENED_ONLY = 64, 128, 256, 512


def call_context(lazy: bool, once: bool, guard: str, lock_body: str) -> int:
    """What :class:`CallSeen` says beyond the call, packed in an int (0: nothing) so a call
    resolved later can carry it in its ``mode`` (``mode | context << 2``)."""
    return (
        (_LAZY if lazy else 0)
        | (_ONCE if once else 0)
        | (_FLAG if guard == "flag" else _LOOP if guard == "loop" else 0)
        | (_MEMORY_LOCK if lock_body == "memory" else _LAZY_LOCK if lock_body == "lazy" else 0)
    )


def never_on_loop(context: int) -> bool:
    """Whether a call with this packed context comes after a check that leaves when a loop
    runs (``if not can_block_current_thread(): raise``): the loop never makes it."""
    return bool(context & _LOOP)


def call_seen(code: str, callee: str, line: int, col: int, context: int) -> CallSeen:
    """The :class:`CallSeen` for a call and its packed :func:`call_context`."""
    if not context:
        return CallSeen(code, callee, line, col, False)
    guard = "flag" if context & _FLAG else "loop" if context & _LOOP else ""
    lock = "memory" if context & _MEMORY_LOCK else "lazy" if context & _LAZY_LOCK else ""
    return CallSeen(
        code,
        callee,
        line,
        col,
        bool(context & _LAZY),
        bool(context & _ONCE),
        guard,
        lock,
        bool(context & AWAITED_CALL),
        bool(context & NO_DISK),
        bool(context & NO_WAIT),
        bool(context & OPENED_ONLY),
    )


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
