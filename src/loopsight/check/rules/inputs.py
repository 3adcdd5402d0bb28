"""LS0xx: input the checker could not analyse; each is one line and the run goes on."""

from __future__ import annotations

from typing import ClassVar

from loopsight.check.rules._registry import Rule, RuleFamily, register

__all__ = ["InputErrors"]

_FIX = "fix or exclude the file (`[tool.loopsight] exclude`)"


@register
class InputErrors(RuleFamily):
    """Reported by the file reader, never by a walk."""

    rules: ClassVar[tuple[Rule, ...]] = (
        Rule("LS001", "syntax-error", "Syntax error", _FIX, propagates=False),
        Rule("LS002", "undecodable-file", "File is not valid source text", _FIX, False),
        Rule("LS003", "unreadable-file", "File cannot be read", _FIX, False),
        Rule("LS004", "nul-byte", "File contains a NUL byte", _FIX, False),
        Rule("LS005", "file-too-large", "File too large to check", _FIX, False),
        Rule("LS006", "symlink-loop", "Symbolic link loop", _FIX, False),
    )
