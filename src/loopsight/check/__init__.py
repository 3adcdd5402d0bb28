"""``loopsight check``: a FastAPI-aware static checker that follows calls into sync helpers.

Pipeline: files -> one ``ast`` walk per module (summary, cached by content hash) -> project
index -> entry points (which functions run on the loop, and why) -> reach (call paths down to
blocking calls) -> findings -> renderers. User code is parsed, never imported or run.
"""

from __future__ import annotations

from loopsight.check._config import CheckConfig, find_config, load_config
from loopsight.check._finding import Context, Finding, Hop
from loopsight.check._runner import CheckResult, run_check
from loopsight.check.rules import RULES, Rule

__all__ = [
    "RULES",
    "CheckConfig",
    "CheckResult",
    "Context",
    "Finding",
    "Hop",
    "Rule",
    "find_config",
    "load_config",
    "run_check",
]
