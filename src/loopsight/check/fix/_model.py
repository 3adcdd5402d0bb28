"""The fixer's records: what a fix is, how safe it is, and what became of each finding."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from enum import Enum
from typing import Any

from loopsight.check._finding import Finding

__all__ = ["Edit", "FileFix", "FixKind", "FixReport", "Outcome", "Safety", "Status"]


class Safety(Enum):
    """Ruff's split: safe fixes keep behaviour; unsafe ones change it in a way to review."""

    SAFE = "safe"
    UNSAFE = "unsafe"


class FixKind(Enum):
    """The rewrites the fixer knows, with the words the report uses."""

    AWAIT = ("await", "await the coroutine")
    ASYNC_SLEEP = ("async-sleep", "use `await asyncio.sleep(...)`")
    SYNC_DEF = ("sync-def", "declare the function with `def` (FastAPI runs it in the thread pool)")
    OFFLOAD = ("offload", "run the call in a thread: `await {runner}(...)`")
    PURE_ASGI = ("pure-asgi", "rewrite `{name}` as a pure ASGI middleware class")

    def __init__(self, label: str, text: str) -> None:
        self.label = label
        self.text = text


@dataclass(frozen=True, slots=True)
class Edit:
    """One rewrite at one node (a call or a function), identified by where it starts."""

    kind: FixKind
    safety: Safety
    path: str
    line: int
    description: str
    imports: tuple[tuple[str, str | None], ...] = ()
    callee: str = ""  # the function a rewritten call now goes through

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {"kind": self.kind.label, "safety": self.safety.value, "fix": self.description}


class Status(Enum):
    """What became of a finding under ``--fix``/``--diff``."""

    FIXED = "fixed"
    UNSAFE = "unsafe"  # a fix exists but needs ``--unsafe-fixes``
    ROLLED_BACK = "rolled-back"
    NOT_WRITTEN = "not-written"
    NO_FIX = "no-fix"


@dataclass(frozen=True, slots=True)
class Outcome:
    """A finding, what the fixer did about it, and why when it did not."""

    finding: Finding
    status: Status
    edit: Edit | None = None
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The finding's JSON form plus the fix."""
        data = self.finding.to_dict()
        data["fix_status"] = self.status.value
        data["applied_fix"] = self.edit.to_dict() if self.edit is not None else None
        data["fix_reason"] = self.reason or None
        return data


@dataclass(frozen=True, slots=True)
class FileFix:
    """A file's bytes as read and as rewritten."""

    path: str
    before: bytes
    after: bytes

    def diff(self) -> str:
        """The unified diff, ruff's ``--diff`` form."""
        old = self.before.decode("utf-8", "replace").splitlines(keepends=True)
        new = self.after.decode("utf-8", "replace").splitlines(keepends=True)
        lines = difflib.unified_diff(old, new, self.path, self.path)
        return "".join(
            line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
            for line in lines
        )


@dataclass(frozen=True, slots=True)
class FixReport:
    """Every finding's outcome, the rewritten files, and one line per file that failed."""

    outcomes: tuple[Outcome, ...]
    files: tuple[FileFix, ...]
    errors: tuple[str, ...] = ()

    def count(self, status: Status) -> int:
        """How many findings ended with ``status``."""
        return sum(1 for outcome in self.outcomes if outcome.status is status)

    @property
    def remaining(self) -> list[Finding]:
        """The findings still in the code."""
        return [o.finding for o in self.outcomes if o.status is not Status.FIXED]
