"""Shared CLI plumbing: one-line errors on stderr and their exit code."""

from __future__ import annotations

import sys
from typing import NoReturn

__all__ = ["EXIT_ERROR", "fail"]

EXIT_ERROR = 2


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    """Print ``loopsight: error: <message>`` on one line and exit with ``code``."""
    sys.stderr.write(f"loopsight: error: {message}\n")
    raise SystemExit(code)
