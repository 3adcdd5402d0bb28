"""The project index: every module's summary, and references resolved across modules."""

from __future__ import annotations

import builtins
from collections import deque
from collections.abc import Iterable
from enum import Enum
from typing import NamedTuple

from loopsight.check._names import CanonicalNames
from loopsight.check._summary import ClassFacts, FunctionFacts, ModuleSummary

__all__ = ["FunctionKey", "ProjectIndex", "Target", "TargetKind"]


class TargetKind(Enum):
    """What a resolved reference names."""

    FUNCTION = "function"
    CLASS = "class"
    INSTANCE = "instance"  # an instance of a project class
    MODULE = "module"
    LIBRARY = "library"  # a library name or instance, by its canonical name


class FunctionKey(NamedTuple):
    """A project function (or class) by module and qualname."""

    module: str
    qualname: str


class Target(NamedTuple):
    """A resolved reference: ``name`` is the module (the canonical name for a library target);
    ``qualname`` the function or class in it (empty for modules and library names)."""

    kind: TargetKind
    name: str
    qualname: str = ""

    @property
    def key(self) -> FunctionKey:
        """The project function or class named."""
        return FunctionKey(self.name, self.qualname)


_FUNCTION, _CLASS, _INSTANCE = TargetKind.FUNCTION, TargetKind.CLASS, TargetKind.INSTANCE
_MODULE, _LIBRARY = TargetKind.MODULE, TargetKind.LIBRARY
#: A bound function or class name: the target it resolves to.
_DEFINED = {"function": _FUNCTION, "class": _CLASS}

_PROTOCOLS = frozenset({"typing.Protocol", "typing_extensions.Protocol"})
_PROPERTIES = frozenset({"builtins.property", "functools.cached_property"})
_MAX_DEPTH = 24
_BUILTINS = frozenset(dir(builtins))


class ProjectIndex:
    """Modules by dotted name, with memoised reference resolution."""

    def __init__(self, summaries: Iterable[ModuleSummary], names: CanonicalNames) -> None:
        self.modules: dict[str, ModuleSummary] = {}
        for summary in summaries:
            if summary.error is None:
                self.modules.setdefault(summary.name, summary)
        self.names = names
        self._memo: dict[str, Target | None] = {}
        self._suffixes: dict[str, str | None] | None = None
        self._children: dict[FunctionKey, list[FunctionKey]] | None = None
        self._implementers: dict[FunctionKey, list[FunctionKey]] = {}
        self._descendants: dict[FunctionKey, list[FunctionKey]] = {}
        self._by_method: dict[str, list[FunctionKey]] | None = None
        self._depth = 0

    def function(self, module: str, qualname: str) -> FunctionFacts | None:
        """The facts of a project function."""
        summary = self.modules.get(module)
        return summary.functions.get(qualname) if summary is not None else None

    def klass(self, module: str, qualname: str) -> ClassFacts | None:
        """The facts of a project class."""
        summary = self.modules.get(module)
        return summary.classes.get(qualname) if summary is not None else None

    # -- resolution ------------------------------------------------------------------------
    def resolve(self, ref: str) -> Target | None:
        """What ``ref`` names, or ``None`` when it cannot be known statically."""
        memo = self._memo
        if ref in memo:
            return memo[ref]
        if self._depth > _MAX_DEPTH:
            return None
        memo[ref] = None  # cycle guard: a self-referential alias resolves to nothing
        self._depth += 1
        try:
            result = self._resolve(ref)
        except RecursionError:  # a pathological chain of aliases, bases and star imports
            result = None
        finally:
            self._depth -= 1
        memo[ref] = result
        return result

    def _resolve(self, ref: str) -> Target | None:
        module, colon, rest = ref.partition(":")
        if colon:
            tokens = rest.split(".")
            first, calls = _split(tokens[0])
            state = self._module_member(module, first)
            for _ in range(calls):
                state = self._call(state)
            tokens = tokens[1:]
        else:
            tokens = ref.split(".")
            state, used = self._longest_module(tokens)
            if state is None:
                state, used = self._rooted(tokens)
            if state is None:
                return self._library(tokens)
            tokens = tokens[used:]
        for token in tokens:
            name, calls = _split(token)
            state = self._attr(state, name)
            for _ in range(calls):
                state = self._call(state)
        return state

    def _longest_module(self, tokens: list[str]) -> tuple[Target | None, int]:
        for used in range(len(tokens), 0, -1):
            if "(" in tokens[used - 1] or any("(" in token for token in tokens[:used]):
                continue
            name = ".".join(tokens[:used])
            if name in self.modules:
                return Target(_MODULE, name), used
        return None, 0

    def _rooted(self, tokens: list[str]) -> tuple[Target | None, int]:
        """A module imported relative to a source root below the checked directory
        (``backend/app/db.py`` imported as ``app.db``), by the longest unambiguous suffix."""
        if tokens[0] in self.names.known_roots or tokens[0] in self.names.ignorable_roots:
            return None, 0
        suffixes = self._suffixes
        if suffixes is None:
            suffixes = self._suffixes = _suffix_table(self.modules)
        for used in range(len(tokens), 0, -1):
            if any("(" in token for token in tokens[:used]):
                continue
            module = suffixes.get(".".join(tokens[:used]))
            if module is not None:
                return Target(_MODULE, module), used
        return None, 0

    def _library(self, tokens: list[str]) -> Target:
        names = self.names
        name, calls = _split(tokens[0])
        canonical = name
        for _ in range(calls):
            canonical = names.call(canonical)
        for token in tokens[1:]:
            name, calls = _split(token)
            canonical = names.attr(canonical, name)
            for _ in range(calls):
                canonical = names.call(canonical)
        return Target(_LIBRARY, canonical)

    def _module_member(self, module: str, name: str, depth: int = 0) -> Target | None:
        summary = self.modules.get(module)
        if summary is None or depth > _MAX_DEPTH:  # depth: star imports may form a cycle
            return None
        symbol = summary.symbols.get(name)
        if symbol is not None:
            kind, value = symbol
            defined = _DEFINED.get(kind)
            if defined is not None:
                return Target(defined, module, value)
            return self.resolve(value) if kind == "ref" else None
        submodule = f"{module}.{name}"
        if submodule in self.modules:
            return Target(_MODULE, submodule)
        for star in summary.stars:
            if star in self.modules:
                found = self._module_member(star, name, depth + 1) if star != module else None
                if found is not None:
                    return found
            elif self.names.classify(f"{star}.{name}") is not None:
                return Target(_LIBRARY, f"{star}.{name}")
        if not summary.stars or name in _BUILTINS:
            return Target(_LIBRARY, "builtins." + name)
        return None

    def _class_member(
        self, module: str, qualname: str, name: str, instance: bool, depth: int = 0
    ) -> Target | None:
        facts = self.klass(module, qualname)
        if facts is None or depth > _MAX_DEPTH:  # depth: bases may form a cycle
            return None
        member = facts.members.get(name)
        if member is not None:
            kind, value = member
            defined = _DEFINED.get(kind)
            if defined is None:
                return self.resolve(value)
            method = Target(defined, module, value)
            return self._call(method) if instance and self._is_property(method) else method
        if instance and name in facts.instance_attrs:
            return self.resolve(facts.instance_attrs[name])
        for base in facts.bases:
            target = self.resolve(base)
            if target is None:
                continue
            if target.kind is _CLASS:
                found = self._class_member(target.name, target.qualname, name, instance, depth + 1)
                if found is not None:
                    return found
            elif target.kind is _LIBRARY:
                base_name = self.names.call(target.name) if instance else target.name
                return Target(_LIBRARY, self.names.attr(base_name, name))
        return None

    def _is_property(self, target: Target) -> bool:
        """Whether a method is read as an attribute (``@property``, ``@cached_property``)."""
        facts = self.function(target.name, target.qualname) if target.kind is _FUNCTION else None
        return facts is not None and any(
            decorator.ref in _PROPERTIES for decorator in facts.decorators
        )

    def _attr(self, state: Target | None, name: str) -> Target | None:
        if state is None:
            return None
        kind, first, second = state
        if kind is _MODULE:
            return self._module_member(first, name)
        if kind is _LIBRARY:
            return Target(_LIBRARY, self.names.attr(first, name))
        if kind is _CLASS or kind is _INSTANCE:
            return self._class_member(first, second, name, kind is _INSTANCE)
        facts = self.function(first, second)
        if facts is not None and name in facts.nested:
            nested_kind, qualname = facts.nested[name]
            return Target(_DEFINED[nested_kind], first, qualname)
        return None

    def _call(self, state: Target | None) -> Target | None:
        if state is None:
            return None
        kind, first, second = state
        if kind is _LIBRARY:
            return Target(_LIBRARY, self.names.call(first))
        if kind is _CLASS:
            return Target(_INSTANCE, first, second)
        if kind is _FUNCTION:
            facts = self.function(first, second)
            if facts is not None and facts.returns is not None:
                return self.resolve(facts.returns)
        return None

    def subclasses(self, module: str, qualname: str) -> list[FunctionKey]:
        """The project classes deriving from a project class, directly or not (base first)."""
        children = self._children
        if children is None:
            children = self._children = {}
            for name, summary in self.modules.items():
                for child, facts in summary.classes.items():
                    for base in facts.bases:
                        target = self.resolve(base)
                        if target is not None and target.kind is _CLASS:
                            children.setdefault(target.key, []).append(FunctionKey(name, child))
        key = FunctionKey(module, qualname)
        found = self._descendants.get(key)
        if found is None:
            seen: dict[FunctionKey, None] = {}  # ordered: nearest subclasses first
            queue = deque(children.get(key, ()))
            while queue:
                sub = queue.popleft()
                if sub not in seen:
                    seen[sub] = None
                    queue.extend(children.get(sub, ()))
            found = self._descendants[key] = list(seen)
        return found

    def implementers(self, module: str, qualname: str) -> list[FunctionKey]:
        """For a ``typing.Protocol``: the project classes defining every method it names."""
        key = FunctionKey(module, qualname)
        if key not in self._implementers:
            self._implementers[key] = self._implementing(module, qualname)
        return self._implementers[key]

    def _implementing(self, module: str, qualname: str) -> list[FunctionKey]:
        facts = self.klass(module, qualname)
        if facts is None or not any(
            (target := self.resolve(base)) is not None and target.name in _PROTOCOLS
            for base in facts.bases
        ):
            return []
        wanted = {name for name, (kind, _) in facts.members.items() if kind == "function"}
        if not wanted:
            return []
        by_method = self._by_method
        if by_method is None:
            by_method = self._by_method = {}
            for name, summary in self.modules.items():
                for child, other in summary.classes.items():
                    for member, (kind, _) in other.members.items():
                        if kind == "function":
                            by_method.setdefault(member, []).append(FunctionKey(name, child))
        candidates = min((by_method.get(name, []) for name in wanted), key=len)
        return [
            key
            for key in candidates
            if key != (module, qualname)
            and wanted <= self.modules[key.module].classes[key.qualname].members.keys()
        ]

    def subclasses_library(self, module: str, qualname: str, names: frozenset[str]) -> bool:
        """Whether a project class derives (through project classes) from a library class."""
        seen: set[tuple[str, str]] = set()
        stack = [(module, qualname)]
        while stack:
            key = stack.pop()
            if key in seen:
                continue
            seen.add(key)
            facts = self.klass(*key)
            for base in facts.bases if facts is not None else ():
                target = self.resolve(base)
                if target is None:
                    continue
                if target.kind is _LIBRARY and target.name in names:
                    return True
                if target.kind is _CLASS:
                    stack.append((target.name, target.qualname))
        return False


def _suffix_table(modules: dict[str, ModuleSummary]) -> dict[str, str | None]:
    """Every proper dotted suffix of the project's module names -> the module, ``None`` when
    two modules share it (several roots in one tree: the import is ambiguous, left alone)."""
    table: dict[str, str | None] = {}
    for name in modules:
        parts = name.split(".")
        for start in range(1, len(parts)):
            suffix = ".".join(parts[start:])
            if suffix in modules:
                continue
            table[suffix] = name if suffix not in table or table[suffix] == name else None
    return table


def _split(token: str) -> tuple[str, int]:
    """``"name()()"`` -> ``("name", 2)``."""
    if token.endswith(")"):
        name = token.split("(", 1)[0]
        return name, (len(token) - len(name)) // 2
    return token, 0
