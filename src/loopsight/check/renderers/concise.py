"""``concise``: one line per finding, ``path:line:col: CODE message``."""

from __future__ import annotations

from collections.abc import Sequence

from loopsight.check._finding import Finding
from loopsight.check.renderers._base import reached_from

__all__ = ["headline", "render_concise"]


def headline(finding: Finding) -> str:
    """``path:line:col: CODE message``, with ``[possible]`` / ``[design]`` when not blocking."""
    tag = f" [{finding.severity}]" if finding.severity != "blocking" else ""
    tag += f" [{finding.category}]" if finding.category != "blocking" else ""
    return f"{finding.path}:{finding.line}:{finding.column}: {finding.code}{tag} {finding.message}"


def render_concise(findings: Sequence[Finding]) -> str:
    """One line per finding, ending with how many entry points reach it."""
    out = []
    for finding in findings:
        reached = reached_from(finding)
        out.append(headline(finding) + (f" [{reached}]" if reached else "") + "\n")
    return "".join(out)
