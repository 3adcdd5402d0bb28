"""The per-module summary: everything the cross-module steps need, picklable for the cache.

References (``ref``) are strings: ``"pkg.mod:name.attr()"`` looks ``name`` up in module
``pkg.mod``; ``"a.b.c"`` is absolute (a project module prefix or a library); ``()`` marks a call.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from operator import attrgetter
from typing import Any

__all__ = [
    "AWAITED",
    "BARE",
    "CALL",
    "ClassFacts",
    "Decorator",
    "FunctionFacts",
    "InputError",
    "ModuleSummary",
    "Registration",
    "summary_from_tuple",
    "summary_to_tuple",
]

#: How a call site is used: a plain call, the operand of ``await``, or a bare statement.
CALL, AWAITED, BARE = 0, 1, 2

#: ``(receiver-and-attribute ref or None, first literal argument, keyword methods, line)``.
Decorator = tuple[str | None, str | None, str | None, int]
#: ``(kind, target ref, line, column, detail)``: a function handed to a framework hook.
Registration = tuple[str, str, int, int, str]


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
    #: Findings known from this file alone: ``(code, line, column, shown callee)``.
    sites: list[tuple[str, int, int, str]] = field(default_factory=list)
    decorators: list[Decorator] = field(default_factory=list)
    nested: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: A response model validates the return value (annotation or ``response_model=``).
    validates: bool = False
    #: Parameters filled by the framework: ``(kind, ref, parameter, line, column)``; kind ``d``
    #: names the dependency (``Depends(ref)``), ``a`` an annotation that may be a module-level
    #: alias of ``Annotated[T, Depends(...)]``.
    dependencies: list[tuple[str, str, str, int, int]] = field(default_factory=list)
    #: What a sync generator holds open at a ``yield``: ``(ref of the resource, yield line)``
    #: for ``with call() as x:`` around it and ``try: yield ... finally: x.close()``.
    held: list[tuple[str, int]] = field(default_factory=list)


@dataclass(slots=True)
class ClassFacts:
    """One class: bases, members (methods, nested classes, class attributes), ``self.x`` types."""

    qualname: str
    line: int
    col: int
    bases: list[str] = field(default_factory=list)
    members: dict[str, tuple[str, str]] = field(default_factory=dict)
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
    #: ``name -> (kind, value)``: ``f`` function qualname, ``c`` class qualname, ``r`` ref,
    #: ``u`` bound to something unknown.
    symbols: dict[str, tuple[str, str]] = field(default_factory=dict)
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


#: Shallow field tuples (``dataclasses.astuple`` deep-copies and is ~10x slower).
_FUNCTION_FIELDS = attrgetter(*(f.name for f in fields(FunctionFacts)))
_CLASS_FIELDS = attrgetter(*(f.name for f in fields(ClassFacts)))
_ERROR_FIELDS = attrgetter(*(f.name for f in fields(InputError)))


def summary_to_tuple(summary: ModuleSummary) -> tuple[Any, ...]:
    """Plain tuples, dicts and strings (``marshal`` loads these ~5x faster than ``pickle``)."""
    return (
        summary.name,
        summary.path,
        summary.is_package,
        summary.lines,
        summary.symbols,
        summary.stars,
        {key: _FUNCTION_FIELDS(value) for key, value in summary.functions.items()},
        {key: _CLASS_FIELDS(value) for key, value in summary.classes.items()},
        summary.registrations,
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
        {key: FunctionFacts(*value) for key, value in functions.items()},
        {key: ClassFacts(*value) for key, value in classes.items()},
        registrations,
        noqa,
        prefixes,
        dependency_aliases,
        InputError(*error) if error is not None else None,
    )
