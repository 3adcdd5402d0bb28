"""The renderer contract: one function from findings to text."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from loopsight.check._finding import Finding

__all__ = ["Renderer"]

#: Renders findings (already sorted) to the text written on stdout.
Renderer = Callable[[Sequence[Finding]], str]
