"""The renderer contract: one function from findings to text."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from loopsight.check._finding import Finding

__all__ = ["SHOWN_ENTRIES", "Renderer", "reached_from"]

#: How many entry points text formats name before ``(+N more)``.
SHOWN_ENTRIES = 3

#: Renders findings (already sorted) to the text written on stdout.
Renderer = Callable[[Sequence[Finding]], str]


def reached_from(finding: Finding) -> str:
    """``reached from N entry points: GET /a, POST /b, … (+97 more)``; empty when the
    finding is the entry function's own or has no entry point."""
    entries = finding.entries
    if not entries or (len(entries) == 1 and len(finding.call_path) <= 1):
        return ""
    names = ", ".join(entry.shown for entry in entries[:SHOWN_ENTRIES])
    more = f", … (+{len(entries) - SHOWN_ENTRIES} more)" if len(entries) > SHOWN_ENTRIES else ""
    count = len(entries)
    return f"reached from {count} entry point{'s' if count != 1 else ''}: {names}{more}"
