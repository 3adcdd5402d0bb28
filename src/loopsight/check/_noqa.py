"""``# noqa`` comments: which codes are silenced on which line (bare ``# noqa``: all)."""

from __future__ import annotations

import re

__all__ = ["Noqa", "parse_noqa", "suppressed"]

_NOQA = re.compile(r"#\s*noqa(?::\s*([A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*))?", re.IGNORECASE)

#: Line number -> the codes silenced there, or ``None`` for every code.
Noqa = dict[int, frozenset[str] | None]


def parse_noqa(text: str) -> Noqa:
    """Every ``# noqa`` / ``# noqa: CODE, CODE`` comment in ``text``, in one regex pass."""
    found: Noqa = {}
    if "noqa" not in text and "NOQA" not in text:
        return found
    line, position = 1, 0
    for match in _NOQA.finditer(text):
        line += text.count("\n", position, match.start())
        position = match.start()
        codes = match.group(1)
        found[line] = (
            frozenset(code.upper() for code in re.split(r"[\s,]+", codes)) if codes else None
        )
    return found


def suppressed(line: int, code: str, noqa: Noqa) -> bool:
    """Whether a finding of ``code`` reported on ``line`` is silenced."""
    if line not in noqa:
        return False
    codes = noqa[line]
    return codes is None or code in codes
