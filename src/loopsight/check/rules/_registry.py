"""Rule metadata and the family registry: each family declares its codes, its catalogue and
its hooks once; every finding is built by :meth:`Rule.finding`."""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from loopsight.check._finding import Context, Finding, Hop
from loopsight.check._hooks import CallSeen, DependencyFound, EntryKind, EntryPointFound
from loopsight.check._summary import Site

if TYPE_CHECKING:
    from loopsight.check._config import CheckConfig

__all__ = [
    "CATALOGUE",
    "FAMILIES",
    "HOOKS",
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
    """One stable code: a short message stem, the replacement to suggest, and a doc title.

    ``message`` is the rule's short text (its ``{callee}`` slot, if any, takes the subject);
    ``template``, when set, is how a finding's message is written instead, with ``{message}``,
    ``{subject}`` and the slots the reporting hook passes.
    """

    code: str
    name: str
    message: str
    fix: str
    propagates: bool = True  # reported at the loop function's call when reached through helpers
    template: str | None = None
    #: ``possible``: cheap or once-only calls, reported only when selected (see ``enabled``).
    severity: str = "blocking"
    category: str = "blocking"  # ``design``: LS5xx/LS6xx, about structure, not a call

    def describe(self, subject: str, **slots: str) -> str:
        """This rule's message about ``subject``."""
        if self.template is not None:
            return self.template.format(message=self.message, subject=subject, **slots)
        if "{callee}" in self.message:
            return self.message.replace("{callee}", subject)
        return f"{self.message} `{subject}`"

    def finding(
        self,
        path: str,
        line: int,
        col: int,
        subject: str,
        *,
        where: str = "",
        context: Context | None = None,
        call_path: tuple[Hop, ...] = (),
        fix_note: str = "",
        entries: tuple[Context, ...] | None = None,
        **slots: str,
    ) -> Finding:
        """The one way a finding is built: this rule's message about ``subject``, then
        ``where`` it runs; ``col`` is 0-based as in ``ast``, the finding's is 1-based.
        ``entries`` defaults to ``context`` alone."""
        message = self.describe(subject, **slots) + where
        if entries is None:
            entries = (context,) if context is not None else ()
        fix = self.fix + fix_note
        return Finding(
            path,
            line,
            col + 1,
            self.code,
            message,
            context,
            call_path,
            fix,
            entries,
            severity=self.severity,
            category=self.category,
        )


@dataclass(slots=True)
class _Catalogue:
    """Library knowledge every family adds to: what calls, methods and types mean."""

    calls: dict[str, str] = field(default_factory=dict)
    methods: dict[str, tuple[str, frozenset[str] | None, frozenset[str]]] = field(
        default_factory=dict
    )
    returns: dict[str, str] = field(default_factory=dict)
    attr_types: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    any_receiver: dict[str, str] = field(default_factory=dict)
    coroutine_functions: set[str] = field(default_factory=set)


class RuleFamily:
    """Base of a rule family: codes, a call catalogue, and hooks the engine calls.

    Catalogue: ``calls`` maps a canonical callee (``"time.sleep"``,
    ``"requests.Session().get"``) to a code; ``methods`` maps an instance type
    (``"sqlite3.Connection()"``) to ``(code, methods, except)`` where ``methods=None`` means every
    method but ``except``; ``returns`` gives the type a call produces; ``attr_types`` the type
    any attribute of an instance has; ``aliases`` canonicalise re-exported names;
    ``any_receiver`` maps a method name to a code whatever its receiver's type;
    ``coroutine_functions`` are library coroutine functions (a bare call drops the coroutine).

    Hooks (override only those the family needs; the engine calls overridden ones alone):
    :meth:`check_node` on ``node_types`` during the single walk of a module,
    :meth:`configured_calls` once per run, :meth:`on_call` for each call the catalogue gave
    one of the family's codes, :meth:`on_dropped_coroutine` for each coroutine made and never
    awaited, :meth:`reported_in` for each finding of its codes in a function reached as an
    entry point of some kind, :meth:`on_entrypoint` for each entry-point declaration and
    :meth:`on_dependency` for each parameter of a route filled by a project dependency.
    """

    rules: ClassVar[tuple[Rule, ...]] = ()
    calls: ClassVar[dict[str, str]] = {}
    methods: ClassVar[dict[str, tuple[str, frozenset[str] | None, frozenset[str]]]] = {}
    returns: ClassVar[dict[str, str]] = {}
    attr_types: ClassVar[dict[str, str]] = {}
    aliases: ClassVar[dict[str, str]] = {}
    any_receiver: ClassVar[dict[str, str]] = {}
    coroutine_functions: ClassVar[frozenset[str]] = frozenset()
    node_types: ClassVar[tuple[type[ast.AST], ...]] = ()

    def check_node(self, node: ast.AST) -> Iterator[Site]:
        """Yield structural findings for one node of a type listed in ``node_types``."""
        return iter(())

    def configured_calls(self, config: CheckConfig) -> dict[str, str]:
        """Calls the project's configuration adds to this family's catalogue."""
        return {}

    def on_call(self, call: CallSeen) -> str | None:
        """The code to record for a classified call (``None``: nothing to report)."""
        return call.code

    def on_dropped_coroutine(self, callee: str, line: int, col: int) -> Iterator[Site]:
        """Findings for a bare call that makes a coroutine and drops it."""
        return iter(())

    def reported_in(self, code: str, kind: EntryKind) -> bool:
        """Whether a finding of ``code`` is reported in a loop function of this ``kind``."""
        return True

    def on_entrypoint(self, found: EntryPointFound) -> Iterator[Finding]:
        """Findings about how an entry point is declared (configuration, not calls)."""
        return iter(())

    def on_dependency(self, found: DependencyFound) -> Iterator[Finding]:
        """Findings about a route's dependency."""
        return iter(())


class _Hooks:
    """The overridden hooks of every family, so the engine calls only those.

    (A plain class: a dataclass costs ~0.4 ms of import time, paid by every re-check.)
    """

    __slots__ = (
        "configured_calls",
        "dependency",
        "dropped_coroutine",
        "entrypoint",
        "on_call",
        "reported_in",
    )

    def __init__(self) -> None:
        self.on_call: dict[str, Callable[[CallSeen], str | None]] = {}
        self.reported_in: dict[str, Callable[[str, EntryKind], bool]] = {}
        self.dropped_coroutine: list[Callable[[str, int, int], Iterator[Site]]] = []
        self.configured_calls: list[Callable[[CheckConfig], dict[str, str]]] = []
        self.entrypoint: list[Callable[[EntryPointFound], Iterator[Finding]]] = []
        self.dependency: list[Callable[[DependencyFound], Iterator[Finding]]] = []


FAMILIES: list[RuleFamily] = []
RULES: dict[str, Rule] = {}
CATALOGUE = _Catalogue()
HOOKS = _Hooks()


def _overrides(family: RuleFamily, name: str) -> bool:
    return getattr(type(family), name) is not getattr(RuleFamily, name)


def _add_hooks(family: RuleFamily) -> None:
    codes = [rule.code for rule in family.rules]
    if _overrides(family, "on_call"):
        HOOKS.on_call.update(dict.fromkeys(codes, family.on_call))
    if _overrides(family, "reported_in"):
        HOOKS.reported_in.update(dict.fromkeys(codes, family.reported_in))
    if _overrides(family, "on_dropped_coroutine"):
        HOOKS.dropped_coroutine.append(family.on_dropped_coroutine)
    if _overrides(family, "configured_calls"):
        HOOKS.configured_calls.append(family.configured_calls)
    if _overrides(family, "on_entrypoint"):
        HOOKS.entrypoint.append(family.on_entrypoint)
    if _overrides(family, "on_dependency"):
        HOOKS.dependency.append(family.on_dependency)


def register(cls: type[RuleFamily]) -> type[RuleFamily]:
    """Class decorator: add a family's rules, catalogue and hooks to the registry."""
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
    CATALOGUE.any_receiver.update(cls.any_receiver)
    CATALOGUE.coroutine_functions.update(cls.coroutine_functions)
    _add_hooks(family)
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
