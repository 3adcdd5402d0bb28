"""``json``: a list of finding objects (the documented schema)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from loopsight.check._finding import Finding

__all__ = ["render_json"]


def render_json(findings: Sequence[Finding]) -> str:
    """``[{"code", "message", "path", "line", "column", "context", "call_path", "fix",
    "entries"}]``; ``entries`` lists every entry point that reaches the place."""
    return json.dumps([finding.to_dict() for finding in findings], indent=2) + "\n"
