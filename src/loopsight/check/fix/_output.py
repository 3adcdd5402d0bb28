"""What ``--fix`` and ``--diff`` print: ruff's conventions and wording."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence

from loopsight.check._finding import Finding
from loopsight.check.fix._model import FixReport, Status

__all__ = ["fixable_line", "print_report"]


def _plural(count: int, word: str, plural: str = "") -> str:
    return f"{count} {word if count == 1 else plural or word + 's'}"


def _hidden(report: FixReport) -> str:
    hidden = report.count(Status.UNSAFE)
    if not hidden:
        return ""
    fixes = _plural(hidden, "hidden fix", "hidden fixes")
    return f" ({fixes} can be enabled with the `--unsafe-fixes` option)"


def fixable_line(report: FixReport) -> str:
    """Ruff's hint under a plain check: ``[*] N fixable with the `--fix` option (...)``."""
    fixed, hidden = report.count(Status.FIXED), report.count(Status.UNSAFE)
    if not fixed and not hidden:
        return ""
    if not fixed:
        return f"No fixes available{_hidden(report)}.\n"
    return f"[*] {fixed} fixable with the `--fix` option{_hidden(report)}.\n"


def _json(report: FixReport, diff: bool) -> str:
    data = {
        "applied": not diff,
        "fixed": report.count(Status.FIXED),
        "remaining": len(report.remaining),
        "findings": [outcome.to_dict() for outcome in report.outcomes],
        "errors": list(report.errors),
    }
    return json.dumps(data, indent=2) + "\n"


def print_report(
    report: FixReport,
    render: Callable[[Sequence[Finding]], str],
    *,
    output_format: str,
    diff: bool,
) -> int:
    """Print the diff or the findings left; 1 if anything is left (or would change), else 0."""
    fixed = report.count(Status.FIXED)
    if output_format == "json":
        sys.stdout.write(_json(report, diff))
    elif diff:
        sys.stdout.write("".join(file.diff() for file in report.files))
    else:
        sys.stdout.write(render(report.remaining))
    for outcome in report.outcomes:
        if outcome.status is Status.ROLLED_BACK:
            where = f"{outcome.finding.path}:{outcome.finding.line}"
            sys.stderr.write(
                f"loopsight: fix for {outcome.finding.code} at {where} rolled back: "
                f"{outcome.reason}\n"
            )
    for error in report.errors:
        sys.stderr.write(f"loopsight: error: {error}\n")
    if diff:
        sys.stderr.write(f"Would fix {_plural(fixed, 'finding')}.\n")
        sys.stderr.write(fixable_line(report))
        return 1 if fixed else 0
    left = len(report.remaining)
    total = _plural(len(report.outcomes), "finding")
    sys.stderr.write(f"Found {total} ({fixed} fixed, {left} remaining).\n")
    if report.count(Status.UNSAFE):
        sys.stderr.write(f"No fixes available{_hidden(report)}.\n")
    return 1 if left or report.errors else 0
