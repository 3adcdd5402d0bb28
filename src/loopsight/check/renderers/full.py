"""``full``: the headline, the entry points that reach it, the first one's call path hop by
hop, and the fix."""

from __future__ import annotations

from collections.abc import Sequence

from loopsight.check._finding import Finding
from loopsight.check.renderers._base import reached_from
from loopsight.check.renderers.concise import headline

__all__ = ["render_full"]


def _block(finding: Finding) -> str:
    lines = [headline(finding)]
    reached = reached_from(finding)
    if reached:
        lines.append(f"    {reached}")
    if len(finding.call_path) > 1:
        for depth, hop in enumerate(finding.call_path):
            arrow = "   " if depth == 0 else "-> "
            lines.append(f"    {arrow}{hop.function}  ({hop.path}:{hop.line})")
    if finding.context is not None and finding.context.route:
        lines.append(f"    route: {finding.context.route}")
    if finding.fix:
        lines.append(f"    fix: {finding.fix}")
    return "\n".join(lines) + "\n"


def render_full(findings: Sequence[Finding]) -> str:
    """Each finding with its call path and fix, separated by blank lines."""
    return "\n".join(_block(finding) for finding in findings)
