"""Route dependencies: each parameter of an HTTP route filled by a project dependency, handed
to the families' ``on_dependency`` hooks with a way to walk its sub-dependencies.

FastAPI resolves a route's dependencies (and theirs) before the route runs and closes yield
dependencies after the response; what a sync generator holds open at its ``yield`` is held
for the whole request (LS601 builds on this).
"""

from __future__ import annotations

from collections.abc import Callable

from loopsight.check._finding import Finding, Hop
from loopsight.check._hooks import DependencyFound
from loopsight.check._index import FunctionKey, ProjectIndex, TargetKind
from loopsight.check._summary import DependencyKind
from loopsight.check.rules import HOOKS

__all__ = ["dependency_findings"]

#: How deep aliases are followed through imports, and dependencies through sub-dependencies.
_MAX_DEPTH = 8
Accepts = Callable[[str], bool]


class _Dependencies:
    def __init__(self, index: ProjectIndex) -> None:
        self.index = index
        self.chains: dict[tuple[FunctionKey, Accepts], list[Hop] | None] = {}

    def alias(self, ref: str, depth: int = 0) -> str | None:
        """The dependency a module-level ``X = Annotated[T, Depends(f)]`` names, via imports."""
        module, colon, name = ref.partition(":")
        if not colon:
            module, _, name = ref.rpartition(".")
        summary = self.index.modules.get(module)
        if summary is None or "." in name or "(" in name or depth > _MAX_DEPTH:
            return None
        found = summary.dependency_aliases.get(name)
        if found is not None:
            return found
        symbol = summary.symbols.get(name)
        if symbol is not None:
            kind, value = symbol
            return self.alias(value, depth + 1) if kind == "ref" else None
        return None

    def dependency(self, kind: DependencyKind, ref: str) -> FunctionKey | None:
        """The project function a parameter's dependency resolves to."""
        if kind is DependencyKind.ANNOTATION:
            aliased = self.alias(ref)
            if aliased is None:
                return None
            ref = aliased
        target = self.index.resolve(ref)
        return target.key if target is not None and target.kind is TargetKind.FUNCTION else None

    def holding(self, key: FunctionKey, accepts: Accepts, depth: int = 0) -> list[Hop] | None:
        """The hops from dependency ``key`` to a sync generator holding what ``accepts``."""
        memo = (key, accepts)
        if memo in self.chains:
            return self.chains[memo]
        self.chains[memo] = None  # cycle guard
        facts = self.index.function(*key)
        if facts is None or depth > _MAX_DEPTH:
            return None
        path = self.index.modules[key.module].path
        found: list[Hop] | None = None
        if not facts.is_async:
            for ref, line in facts.held:
                target = self.index.resolve(ref)
                library = target is not None and target.kind is TargetKind.LIBRARY
                if library and target is not None and accepts(target.name):
                    found = [Hop(key.qualname, path, line)]
                    break
        if found is None:  # a sub-dependency's resource is held just as long
            for kind, ref, _, line, _ in facts.dependencies:
                sub = self.dependency(kind, ref)
                rest = self.holding(sub, accepts, depth + 1) if sub is not None else None
                if rest is not None:
                    found = [Hop(key.qualname, path, line), *rest]
                    break
        self.chains[memo] = found
        return found


def dependency_findings(index: ProjectIndex, routes: dict[FunctionKey, str]) -> list[Finding]:
    """What the families' ``on_dependency`` hooks find at each route parameter filled by a
    project dependency."""
    if not HOOKS.dependency:
        return []
    dependencies = _Dependencies(index)
    findings: list[Finding] = []
    for key, label in routes.items():
        facts = index.function(*key)
        if facts is None:
            continue
        path = index.modules[key.module].path
        for parameter in facts.dependencies:
            dependency = dependencies.dependency(parameter.kind, parameter.ref)
            if dependency is None:
                continue

            def holding(accepts: Accepts, start: FunctionKey = dependency) -> list[Hop] | None:
                return dependencies.holding(start, accepts)

            found = DependencyFound(facts, label, path, parameter, holding)
            for hook in HOOKS.dependency:
                findings += hook(found)
    return findings
