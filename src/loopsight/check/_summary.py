"""The per-module summary: everything the cross-module steps need, picklable for the cache.

References (``ref``) are strings: ``"pkg.mod:name.attr()"`` looks ``name`` up in module
``pkg.mod``; ``"a.b.c"`` is absolute (a project module prefix or a library); ``()`` marks a call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from enum import Enum
from functools import partial
from operator import attrgetter
from typing import Any, Literal, NamedTuple, cast

__all__ = [
    "AWAITED",
    "BARE",
    "CALL",
    "MAIN_BLOCK",
    "ClassFacts",
    "Decorator",
    "Dependency",
    "DependencyKind",
    "FunctionFacts",
    "Held",
    "InputError",
    "ModuleSummary",
    "Registration",
    "RegistrationKind",
    "Site",
    "Symbol",
    "SymbolKind",
    "summary_from_tuple",
    "summary_to_tuple",
]

#: How a call site is used: a plain call, the operand of ``await``, or a bare statement.
#: (Plain ints: call sites are the most numerous facts, kept as plain tuples on the hot path.)
CALL, AWAITED, BARE = 0, 1, 2
#: The qualname a module's ``if __name__ == "__main__":`` block is summarised under.
MAIN_BLOCK = "__main__"


#: What a name in a module, class or function body is bound to: a function or class defined
#: there, a ``ref`` (an import or an assigned value whose reference is known), or ``unknown``.
SymbolKind = Literal["function", "class", "ref", "unknown"]
#: A bound name: ``(kind, value)``, the value a qualname or a reference; always read unpacked.
#: A plain pair with a word kind (a ``Literal``, like pyinstrument's ``AsyncState``), not a
#: NamedTuple with an Enum: symbols are the most numerous facts of a summary, and a typed record
#: per symbol cost ~2k instructions each to rebuild from the cache (~65M on the benchmark corpus).
Symbol = tuple[SymbolKind, str]


class DependencyKind(Enum):
    """How a parameter names the dependency that fills it."""

    DEPENDS = "d"  # ``Depends(ref)`` / ``Security(ref)``, also inside ``Annotated[...]``
    ANNOTATION = "a"  # an annotation that may be a module-level ``Annotated[T, Depends()]``


class Dependency(NamedTuple):
    """A parameter the framework fills: how, from what, and where it is declared."""

    kind: DependencyKind
    ref: str
    parameter: str
    line: int
    col: int


class Decorator(NamedTuple):
    """A decorator: its callee's reference, first literal argument (a path), ``methods=``."""

    ref: str | None
    first: str | None
    methods: str | None
    line: int


class RegistrationKind(Enum):
    """What a call hands a function to the framework as."""

    ROUTE = "route"
    WEBSOCKET = "websocket"
    DEPENDENCY = "dependency"
    BACKGROUND = "background"
    EXCEPTION = "exception"
    EVENT = "event"
    LIFESPAN = "lifespan"
    INCLUDE = "include"  # ``include_router(router, prefix=...)``
    MIDDLEWARE = "middleware"


class Registration(NamedTuple):
    """A function (or router, or middleware class) handed to a framework hook by a call.

    ``detail`` is the route label, a background task's scheduling function, an event name or
    an ``include_router`` prefix.
    """

    kind: RegistrationKind
    ref: str
    line: int
    col: int
    detail: str


class Site(NamedTuple):
    """A finding-to-be found inside one function: code, line, column, callee shown."""

    code: str
    line: int
    col: int
    shown: str


class Held(NamedTuple):
    """A resource a sync generator holds open at a ``yield``."""

    ref: str
    line: int


@dataclass(slots=True)
class FunctionFacts:
    """One ``def`` / ``async def``: where it is, what it calls, what it does on its own."""

    qualname: str
    line: int
    col: int
    is_async: bool
    class_qualname: str | None = None
    awaits: bool = False
    context_manager: bool = False
    returns: str | None = None
    #: Calls into names resolved later: ``(ref, line, column, mode)``.
    calls: list[tuple[str, int, int, int]] = field(default_factory=list)
    #: Findings known from this file alone.
    sites: list[Site] = field(default_factory=list)
    decorators: list[Decorator] = field(default_factory=list)
    nested: dict[str, Symbol] = field(default_factory=dict)
    #: A response model validates the return value (annotation or ``response_model=``).
    validates: bool = False
    #: Parameters filled by the framework.
    dependencies: list[Dependency] = field(default_factory=list)
    #: What a sync generator holds open at a ``yield``: ``with call() as x:`` around it and
    #: ``try: yield ... finally: x.close()``.
    held: list[Held] = field(default_factory=list)


@dataclass(slots=True)
class ClassFacts:
    """One class: bases, members (methods, nested classes, class attributes), ``self.x`` types."""

    qualname: str
    line: int
    col: int
    bases: list[str] = field(default_factory=list)
    members: dict[str, Symbol] = field(default_factory=dict)
    instance_attrs: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class InputError:
    """A file the checker could not analyse (LS0xx)."""

    code: str
    line: int
    col: int
    message: str


@dataclass(slots=True)
class ModuleSummary:
    """The index facts and local findings of one module."""

    name: str
    path: str
    is_package: bool
    lines: int
    symbols: dict[str, Symbol] = field(default_factory=dict)
    stars: list[str] = field(default_factory=list)
    functions: dict[str, FunctionFacts] = field(default_factory=dict)
    classes: dict[str, ClassFacts] = field(default_factory=dict)
    registrations: list[Registration] = field(default_factory=list)
    noqa: dict[int, frozenset[str] | None] = field(default_factory=dict)
    #: ``router = APIRouter(prefix="/items")`` at module level: name -> prefix.
    prefixes: dict[str, str] = field(default_factory=dict)
    #: ``SessionDep = Annotated[Session, Depends(get_session)]`` at module level: name -> ref.
    dependency_aliases: dict[str, str] = field(default_factory=dict)
    error: InputError | None = None


# -- the cache boundary: plain tuples, dicts and strings only (``marshal`` takes exact types) --
_DEPENDENCY_KINDS = {kind.value: kind for kind in DependencyKind}
_REGISTRATION_KINDS = {kind.value: kind for kind in RegistrationKind}
_ERROR_FIELDS = attrgetter(*(f.name for f in fields(InputError)))
_FUNCTION_FIELDS = attrgetter(*(f.name for f in fields(FunctionFacts)))
# ``tuple.__new__`` in C: a NamedTuple's own ``__new__`` is Python code, and these run per fact
_site = cast("Callable[[tuple[Any, ...]], Site]", partial(tuple.__new__, Site))
_decorator = cast("Callable[[tuple[Any, ...]], Decorator]", partial(tuple.__new__, Decorator))


def _plain_function(facts: FunctionFacts) -> tuple[Any, ...]:
    if not (facts.sites or facts.decorators or facts.dependencies or facts.held):
        return _FUNCTION_FIELDS(facts)  # nothing typed to flatten: the fields as they are
    return (
        facts.qualname,
        facts.line,
        facts.col,
        facts.is_async,
        facts.class_qualname,
        facts.awaits,
        facts.context_manager,
        facts.returns,
        facts.calls,
        list(map(tuple, facts.sites)),
        list(map(tuple, facts.decorators)),
        facts.nested,
        facts.validates,
        [(d.kind.value, *d[1:]) for d in facts.dependencies],
        [tuple(held) for held in facts.held],
    )


def _typed_function(data: tuple[Any, ...]) -> FunctionFacts:
    facts = FunctionFacts(*data)
    # most functions have no sites, decorators, dependencies or held resources
    if data[9] or data[10] or data[13] or data[14]:
        _type_lists(facts)
    return facts


def _type_lists(facts: FunctionFacts) -> None:
    """Turn the plain lists a loaded function holds into typed records, in place."""
    plain: Any = facts  # its lists still hold plain tuples
    if plain.sites:
        plain.sites = list(map(_site, plain.sites))
    if plain.decorators:
        plain.decorators = list(map(_decorator, plain.decorators))
    if plain.dependencies:
        kinds = _DEPENDENCY_KINDS
        plain.dependencies = [Dependency(kinds[k], *more) for k, *more in plain.dependencies]
    if plain.held:
        plain.held = [Held(*item) for item in plain.held]


def _plain_class(facts: ClassFacts) -> tuple[Any, ...]:
    members = facts.members
    return (facts.qualname, facts.line, facts.col, facts.bases, members, facts.instance_attrs)


def _typed_class(data: tuple[Any, ...]) -> ClassFacts:
    qualname, line, col, bases, members, instance_attrs = data
    return ClassFacts(qualname, line, col, bases, members, instance_attrs)


def summary_to_tuple(summary: ModuleSummary) -> tuple[Any, ...]:
    """Plain tuples, dicts and strings (``marshal`` loads these ~5x faster than ``pickle``)."""
    return (
        summary.name,
        summary.path,
        summary.is_package,
        summary.lines,
        summary.symbols,
        summary.stars,
        {key: _plain_function(value) for key, value in summary.functions.items()},
        {key: _plain_class(value) for key, value in summary.classes.items()},
        [(r.kind.value, *r[1:]) for r in summary.registrations],
        summary.noqa,
        summary.prefixes,
        summary.dependency_aliases,
        _ERROR_FIELDS(summary.error) if summary.error is not None else None,
    )


def summary_from_tuple(data: tuple[Any, ...]) -> ModuleSummary:
    """The inverse of :func:`summary_to_tuple`."""
    name, path, is_package, lines, symbols, stars, functions, classes, *rest = data
    registrations, noqa, prefixes, dependency_aliases, error = rest
    return ModuleSummary(
        name,
        path,
        is_package,
        lines,
        symbols,
        stars,
        {key: _typed_function(value) for key, value in functions.items()},
        {key: _typed_class(value) for key, value in classes.items()},
        [Registration(_REGISTRATION_KINDS[kind], *rest) for kind, *rest in registrations],
        noqa,
        prefixes,
        dependency_aliases,
        InputError(*error) if error is not None else None,
    )
