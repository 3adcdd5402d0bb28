"""Rule families, registered by decorator; importing this package fills the registry."""

from __future__ import annotations

from loopsight.check.rules import (
    blocking,
    coroutines,
    cpu,
    fastapi,
    inputs,
    offload,
    threadpool,
)
from loopsight.check.rules._registry import CATALOGUE, FAMILIES, RULES, Rule, RuleFamily

__all__ = [
    "CATALOGUE",
    "FAMILIES",
    "RULES",
    "Rule",
    "RuleFamily",
    "blocking",
    "coroutines",
    "cpu",
    "fastapi",
    "inputs",
    "offload",
    "threadpool",
]
