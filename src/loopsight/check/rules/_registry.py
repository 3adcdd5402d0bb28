"""Rule metadata and the family registry: each family declares its codes and catalogue once."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from loopsight.check._summary import Site

__all__ = [
    "CATALOGUE",
    "FAMILIES",
    "RULES",
    "Methods",
    "Rule",
    "RuleFamily",
    "each",
    "instance",
    "register",
]

#: ``(code, method names or None for every method, excluded names)`` for one instance type.
Methods = tuple[str, frozenset[str] | None, frozenset[str]]


@dataclass(frozen=True, slots=True)
class Rule:
    """One stable code: a short message stem, the replacement to suggest, and a doc title."""

    code: str
    name: str
    message: str
    fix: str
    propagates: bool = True  # reported at the loop function's call when reached through helpers


@dataclass(slots=True)
class _Catalogue:
    calls: dict[str, str] = field(default_factory=dict)
    methods: dict[str, tuple[str, frozenset[str] | None, frozenset[str]]] = field(
        default_factory=dict
    )
    returns: dict[str, str] = field(default_factory=dict)
    attr_types: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)


class RuleFamily:
    """Base of a rule family: codes, a call catalogue, and optional hooks on AST node types.

    ``calls`` maps a canonical callee (``"time.sleep"``, ``"requests.Session().get"``) to a code;
    ``methods`` maps an instance type (``"sqlite3.Connection()"``) to ``(code, methods, except)``
    where ``methods=None`` means every method but ``except``; ``returns`` gives the type a call
    produces; ``attr_types`` the type any attribute of an instance has; ``aliases`` canonicalise
    re-exported names. ``node_types`` with :meth:`check_node` add structural checks that run in
    the same single walk as everything else.
    """

    rules: ClassVar[tuple[Rule, ...]] = ()
    calls: ClassVar[dict[str, str]] = {}
    methods: ClassVar[dict[str, tuple[str, frozenset[str] | None, frozenset[str]]]] = {}
    returns: ClassVar[dict[str, str]] = {}
    attr_types: ClassVar[dict[str, str]] = {}
    aliases: ClassVar[dict[str, str]] = {}
    node_types: ClassVar[tuple[type[ast.AST], ...]] = ()

    def check_node(self, node: ast.AST) -> Iterator[Site]:
        """Yield structural findings for one node of a type listed in ``node_types``."""
        return iter(())


FAMILIES: list[RuleFamily] = []
RULES: dict[str, Rule] = {}
CATALOGUE = _Catalogue()


def register(cls: type[RuleFamily]) -> type[RuleFamily]:
    """Class decorator: add a family's rules and catalogue to the registry."""
    family = cls()
    FAMILIES.append(family)
    for rule in cls.rules:
        if rule.code in RULES:
            raise ValueError(f"duplicate rule code {rule.code}")
        RULES[rule.code] = rule
    CATALOGUE.calls.update(cls.calls)
    CATALOGUE.methods.update(cls.methods)
    CATALOGUE.returns.update(cls.returns)
    CATALOGUE.attr_types.update(cls.attr_types)
    CATALOGUE.aliases.update(cls.aliases)
    return cls


def instance(
    code: str, names: str | None, *, exclude: str = ""
) -> tuple[str, frozenset[str] | None, frozenset[str]]:
    """Build a ``methods`` entry from space-separated names (``None``: every method)."""
    listed = frozenset(names.split()) if names is not None else None
    return (code, listed, frozenset(exclude.split()))


def each(prefix: str, names: str, code: str) -> dict[str, str]:
    """``{prefix + name: code}`` for space-separated names."""
    return {prefix + name: code for name in names.split()}
