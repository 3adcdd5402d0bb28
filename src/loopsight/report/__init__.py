"""Renderers for the lab's results: console table, Markdown, JSON and a PNG chart."""

from __future__ import annotations

from loopsight.report.console import render_console
from loopsight.report.files import write_reports
from loopsight.report.markdown import render_markdown
from loopsight.report.png import render_png

__all__ = ["render_console", "render_markdown", "render_png", "write_reports"]
