"""LS0xx: input the checker could not analyse; each is one line and the run goes on."""

from __future__ import annotations

from typing import ClassVar

from loopsight.check.rules._registry import Rule, RuleFamily, register

__all__ = ["InputErrors"]

_FIX = "fix or exclude the file (`[tool.loopsight] exclude`)"


@register
class InputErrors(RuleFamily):
    """Reported by the file reader, never by a walk; the finding says what the reader met."""

    rules: ClassVar[tuple[Rule, ...]] = tuple(
        Rule(code, name, message, _FIX, propagates=False, template="{subject}")
        for code, name, message in (
            ("LS001", "syntax-error", "Syntax error"),
            ("LS002", "undecodable-file", "File is not valid source text"),
            ("LS003", "unreadable-file", "File cannot be read"),
            ("LS004", "nul-byte", "File contains a NUL byte"),
            ("LS005", "file-too-large", "File too large to check"),
            ("LS006", "symlink-loop", "Symbolic link loop"),
        )
    )
