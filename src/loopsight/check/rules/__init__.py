"""Rule families, registered by decorator; importing this package imports every public module
in it (in name order), which fills the registry.

A new rule is: a :class:`Rule` in a family module here (a :class:`RuleFamily` subclass under
``@register``, with catalogue entries and/or hooks; a new family is a new module), its page
``docs/rules/LSxxx.md`` (What it does / Why is this bad? / Example / Use instead) and an
annotated example ``tests/check/examples/LSxxx_*.py``; the meta tests check all three.
"""

from __future__ import annotations

import importlib
import os

from loopsight.check.rules._registry import CATALOGUE, FAMILIES, HOOKS, RULES, Rule, RuleFamily

__all__ = ["CATALOGUE", "FAMILIES", "HOOKS", "RULES", "Rule", "RuleFamily"]


def _import_families() -> None:
    # a directory listing, not pkgutil.iter_modules: that one imports inspect (~4 ms)
    for file in sorted(os.listdir(__path__[0])):
        if file.endswith(".py") and not file.startswith("_"):
            importlib.import_module(f"{__name__}.{file[:-3]}")


_import_families()
