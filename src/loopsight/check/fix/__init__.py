"""``loopsight check --fix`` / ``--diff``: rewrite blocking code with libcst, re-check the
result, and roll back any fix that breaks the file or leaves its finding.

Fixes are registered per code in :mod:`loopsight.check.fix._fixers`; each is safe (keeps
behaviour) or unsafe (applied only with ``--unsafe-fixes``), documented on its rule page under
"Fix safety".
"""

from __future__ import annotations

from loopsight.check.fix._apply import fix_findings, write_fixes
from loopsight.check.fix._model import (
    Edit,
    FileFix,
    FixKind,
    FixReport,
    Outcome,
    Safety,
    Status,
)
from loopsight.check.fix._output import fixable_line, print_report

__all__ = [
    "Edit",
    "FileFix",
    "FixKind",
    "FixReport",
    "Outcome",
    "Safety",
    "Status",
    "fix_findings",
    "fixable_line",
    "print_report",
    "write_fixes",
]
