"""Output formats: one module per format, each a function over the same findings."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from loopsight.check._finding import Finding
from loopsight.check.renderers._base import Renderer
from loopsight.check.renderers.concise import render_concise
from loopsight.check.renderers.full import render_full
from loopsight.check.renderers.github import render_github
from loopsight.check.renderers.json import render_json
from loopsight.check.renderers.sarif import render_sarif
from loopsight.check.rules import RULES

__all__ = ["RENDERERS", "Renderer", "render_statistics"]

RENDERERS: dict[str, Renderer] = {
    "full": render_full,
    "concise": render_concise,
    "json": render_json,
    "sarif": render_sarif,
    "github": render_github,
}


def render_statistics(findings: Sequence[Finding]) -> str:
    """Counts per code, most frequent first (``--statistics``)."""
    counts = Counter(finding.code for finding in findings)
    return "".join(
        f"{count:>5}  {code}  {RULES[code].name}\n"
        for code, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    )
