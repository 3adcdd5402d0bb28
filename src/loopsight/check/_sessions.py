"""LS601: a ``def`` route with a response model that takes a pooled session from a sync yield
dependency.

FastAPI runs such a route in the thread pool, validates its return value in the thread pool
too, and only then leaves the dependency's ``with`` block, returning the connection to the
pool. With more requests in flight than threads, every thread can wait in a route for a
connection held by requests that wait for a thread: a deadlock until the pool times out.
"""

from __future__ import annotations

from typing import NamedTuple

from loopsight.check._finding import Context, Finding, Hop
from loopsight.check._index import FunctionKey, ProjectIndex, TargetKind
from loopsight.check._summary import DependencyKind, SymbolKind
from loopsight.check.rules import RULES
from loopsight.check.rules.threadpool import POOLED_SESSIONS

__all__ = ["session_findings"]

#: How deep aliases are followed through imports, and dependencies through sub-dependencies.
_MAX_DEPTH = 8


class Link(NamedTuple):
    """A step from a route's dependency down to the yield that holds the session: a function
    and the line of its parameter (or, last, of its ``yield``)."""

    function: FunctionKey
    line: int


Chain = list[Link]


class _Sessions:
    def __init__(self, index: ProjectIndex) -> None:
        self.index = index
        self.chains: dict[FunctionKey, Chain | None] = {}

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
        if symbol is not None and symbol.kind is SymbolKind.REF:
            return self.alias(symbol.value, depth + 1)
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

    def chain(self, key: FunctionKey, depth: int = 0) -> Chain | None:
        """The path from dependency ``key`` to a sync generator yielding a pooled session."""
        if key in self.chains:
            return self.chains[key]
        self.chains[key] = None  # cycle guard
        facts = self.index.function(*key)
        if facts is None or depth > _MAX_DEPTH:
            return None
        found: Chain | None = None
        if not facts.is_async:
            for ref, line in facts.held:
                target = self.index.resolve(ref)
                pooled = target is not None and target.kind is TargetKind.LIBRARY
                if pooled and target is not None and target.name in POOLED_SESSIONS:
                    found = [Link(key, line)]
                    break
        if found is None:  # a sub-dependency's session is held just as long
            for kind, ref, _, line, _ in facts.dependencies:
                sub = self.dependency(kind, ref)
                rest = self.chain(sub, depth + 1) if sub is not None else None
                if rest is not None:
                    found = [Link(key, line), *rest]
                    break
        self.chains[key] = found
        return found


def session_findings(index: ProjectIndex, routes: dict[FunctionKey, str]) -> list[Finding]:
    """LS601 at each parameter of a validated ``def`` route filled from a yield session."""
    sessions = _Sessions(index)
    rule = RULES["LS601"]
    findings: list[Finding] = []
    for key, label in routes.items():
        facts = index.function(*key)
        if facts is None or facts.is_async or not facts.validates:
            continue
        path = index.modules[key.module].path
        for kind, ref, _, line, col in facts.dependencies:
            dependency = sessions.dependency(kind, ref)
            chain = sessions.chain(dependency) if dependency is not None else None
            if not chain:
                continue
            yielder = chain[-1].function.qualname
            via = f" via `{chain[0].function.qualname}`" if len(chain) > 1 else ""
            message = (
                f"`def` route `{facts.qualname}` takes a pooled session from yield dependency "
                f"`{yielder}`{via}: its response is validated in the thread pool before the "
                "session closes, so with more requests than threads it can deadlock"
            )
            hops = [Hop(facts.qualname, path, line)]
            hops += [Hop(f.qualname, index.modules[f.module].path, at) for f, at in chain]
            findings.append(
                Finding(
                    path,
                    line,
                    col + 1,
                    "LS601",
                    message,
                    Context("route", facts.qualname, label),
                    tuple(hops),
                    rule.fix,
                )
            )
    return findings
