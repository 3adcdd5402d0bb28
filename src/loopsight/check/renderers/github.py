"""``github``: GitHub Actions workflow commands, shown as annotations on the pull request."""

from __future__ import annotations

from collections.abc import Sequence

from loopsight.check._finding import Finding
from loopsight.check.renderers._base import reached_from

__all__ = ["render_github"]


def _escape(text: str, *, property_value: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if property_value else text


def render_github(findings: Sequence[Finding]) -> str:
    """``::error file=...,line=...,col=...,title=CODE::message`` per finding."""
    out = []
    for finding in findings:
        via = " -> ".join(hop.function for hop in finding.call_path)
        message = finding.message + (f" (path: {via})" if len(finding.call_path) > 1 else "")
        level = "notice" if finding.severity == "possible" else "error"
        reached = reached_from(finding)
        message += f"; {reached}" if reached else ""
        out.append(
            f"::{level} file={_escape(finding.path, property_value=True)},line={finding.line},"
            f"col={finding.column},title={finding.code}::{_escape(message)}\n"
        )
    return "".join(out)
