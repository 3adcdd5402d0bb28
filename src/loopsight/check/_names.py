"""Canonical callee names: how a dotted reference to a library is normalised and classified.

A canonical name is a dotted path where ``()`` marks "the result of calling": for example
``"requests.Session().get"`` is the ``get`` method of a ``requests.Session`` instance.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

from loopsight.check.rules import CATALOGUE

__all__ = ["CanonicalNames", "display", "root_of"]

_STDLIB = frozenset(getattr(sys, "stdlib_module_names", ()))
_EXTRA_ROOTS = frozenset({"builtins", "functools", "fastapi", "starlette", "anyio", "asyncio"})


def root_of(name: str) -> str:
    """The top-level package of a dotted name."""
    return name.partition(".")[0]


def display(canonical: str) -> str:
    """A callee as users write it: ``requests.Session().get`` -> ``requests.Session.get``."""
    shown = canonical.replace("()", "")
    return shown[len("builtins.") :] if shown.startswith("builtins.") else shown


@dataclass(slots=True)
class CanonicalNames:
    """Canonical library names and the code each call violates: the rule families' catalogue
    plus per-run configuration (extra blocking calls)."""

    extra_blocking: dict[str, str] = field(default_factory=dict)
    calls: dict[str, str] = field(init=False)
    known_roots: frozenset[str] = field(init=False)
    ignorable_roots: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        self.calls = {**CATALOGUE.calls, **self.extra_blocking}
        keys = [*self.calls, *CATALOGUE.methods, *CATALOGUE.returns, *CATALOGUE.aliases]
        self.known_roots = frozenset(root_of(key) for key in keys) | _EXTRA_ROOTS
        self.ignorable_roots = _STDLIB - self.known_roots

    def attr(self, name: str, attr: str) -> str:
        """``name.attr``, typing a pending attribute of a typed instance first."""
        if name[-1] != ")":
            name = CATALOGUE.aliases.get(name, name)
            parent, _, _ = name.rpartition(".")
            typed = CATALOGUE.attr_types.get(parent)
            if typed is not None:
                name = typed
        joined = f"{name}.{attr}"
        return CATALOGUE.aliases.get(joined, joined)

    def call(self, name: str) -> str:
        """The canonical type of ``name(...)``'s result."""
        name = CATALOGUE.aliases.get(name, name)  # ``from redis import StrictRedis`` binds as-is
        result = CATALOGUE.returns.get(name)
        if result is not None:
            return result
        called = name + "()"
        return CATALOGUE.aliases.get(called, called)

    def classify(self, callee: str) -> str | None:
        """The rule code a call to ``callee`` violates on the loop, if any."""
        callee = CATALOGUE.aliases.get(callee, callee)
        code = self.calls.get(callee)
        if code is not None:
            return code
        receiver, _, method = callee.rpartition(".")
        if receiver[-1:] != ")":
            typed = CATALOGUE.attr_types.get(receiver.rpartition(".")[0])
            if typed is None:
                return CATALOGUE.any_receiver.get(method)
            receiver = typed
        entry = CATALOGUE.methods.get(receiver)
        if entry is None:
            return CATALOGUE.any_receiver.get(method)
        code, names, exclude = entry
        if names is None:
            return code if method not in exclude and not method.startswith("_") else None
        return code if method in names else None

    @staticmethod
    def is_coroutine_function(callee: str) -> bool:
        """Whether ``callee`` is a library coroutine function (a bare call is a mistake)."""
        return callee in CATALOGUE.coroutine_functions
