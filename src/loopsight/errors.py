"""The one exception type loopsight raises for bad input: its message is the one-line error."""

from __future__ import annotations

__all__ = ["LoopsightError"]


class LoopsightError(Exception):
    """Bad input or an unusable target; ``str(exc)`` is a one-line, user-facing message."""
