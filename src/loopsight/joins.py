"""The join of loopsight's two faces: a ``loopsight check`` finding and a runtime stall at the
same call site.

Shared by the lab's report (``loopsight.lab._joins``) and the runtime (``loopsight run``'s log
line, stalls JSON and shutdown table), so that neither imports the other.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "NOT_SEEN",
    "FindingIndex",
    "FindingsFile",
    "StaticFinding",
    "static_findings",
    "write_findings",
]

NOT_SEEN = (
    "check does not see this call: run `loopsight check` with `--extra-blocking-calls` or report it"
)


@dataclass(frozen=True)
class StaticFinding:
    """A ``loopsight check`` finding, reduced to what a join shows."""

    code: str
    path: str
    line: int
    message: str

    @property
    def location(self) -> str:
        """``code file:line``, short enough for a table cell."""
        return f"{self.code} {Path(self.path).name}:{self.line}"

    def to_json(self) -> dict[str, Any]:
        """The JSON form."""
        return {"code": self.code, "path": self.path, "line": self.line, "message": self.message}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StaticFinding:
        """Inverse of :meth:`to_json`."""
        return cls(str(data["code"]), str(data["path"]), int(data["line"]), str(data["message"]))


def static_findings(paths: Sequence[str]) -> list[StaticFinding]:
    """Run ``loopsight check`` on ``paths`` (parsed, never imported)."""
    from loopsight.check import run_check

    result = run_check(list(paths))
    return [StaticFinding(f.code, f.path, f.line, f.message) for f in result.findings]


def write_findings(paths: Sequence[str], out: str) -> None:
    """Check ``paths`` and write the findings to ``out`` as JSON, atomically (run in a process
    of its own: ``loopsight run`` starts it and serves meanwhile)."""
    findings = [f.to_json() for f in static_findings(paths)]
    tmp = f"{out}.tmp"
    Path(tmp).write_text(json.dumps(findings), encoding="utf-8")
    os.replace(tmp, out)


class FindingIndex:
    """Findings by call site, to join a stall's culprit ``file:line`` with them."""

    def __init__(self, findings: Iterable[StaticFinding]) -> None:
        self.findings = tuple(findings)
        self._by_site: dict[tuple[str, int], StaticFinding] = {}
        for finding in self.findings:
            self._by_site.setdefault((_real(finding.path), finding.line), finding)

    @classmethod
    def load(cls, path: str) -> FindingIndex | None:
        """The index written by :func:`write_findings`, or ``None`` while it is not there."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return cls(StaticFinding.from_json(item) for item in data)

    def at(self, file: str, line: int) -> StaticFinding | None:
        """The finding at ``file:line``, if check reported one there."""
        return self._by_site.get((_real(file), line))

    def describe(self, file: str, line: int) -> str:
        """``seen by check: LS102 clients.py:40``, or that check does not see the call."""
        finding = self.at(file, line)
        return f"seen by check: {finding.location}" if finding is not None else NOT_SEEN


class FindingsFile:
    """The index in a file :func:`write_findings` may not have written yet: ``None`` until it
    has, then loaded once."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._index: FindingIndex | None = None

    def __call__(self) -> FindingIndex | None:
        if self._index is None and os.path.exists(self.path):
            self._index = FindingIndex.load(self.path)
        return self._index


def _real(path: str) -> str:
    try:
        return os.path.realpath(path)
    except (OSError, ValueError):
        return path
