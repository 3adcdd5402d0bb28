"""The one value type every step produces and every renderer consumes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Context", "Finding", "Hop"]


@dataclass(frozen=True, slots=True)
class Hop:
    """One step of a call path: a function and the line in it where the path goes on."""

    function: str
    path: str
    line: int

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {"function": self.function, "path": self.path, "line": self.line}


@dataclass(frozen=True, slots=True)
class Context:
    """Why the function holding the finding runs on the loop."""

    kind: str
    function: str
    route: str | None = None
    path: str | None = None
    line: int | None = None  # where the entry function calls on toward the finding
    #: every line where it does (``line`` is the first): a fix offloads each of these calls
    calls: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "kind": self.kind,
            "function": self.function,
            "route": self.route,
            "path": self.path,
            "line": self.line,
            "calls": list(self.calls),
        }

    @property
    def shown(self) -> str:
        """How an entry point is named in text output: a route by its route, anything else by
        its kind and function (and the route that schedules it, for a background task)."""
        if self.route and self.kind in ("route", "websocket"):
            return self.route
        return f"{self.kind} {self.function}" + (f" ({self.route})" if self.route else "")


@dataclass(frozen=True, slots=True, order=True)
class Finding:
    """One problem at one place, with the path from the loop function to the blocking call.

    ``entries`` are the entry points that reach the place (most specific kind first, then
    nearest); ``context`` is the first of them and ``call_path`` starts there.
    """

    path: str
    line: int
    column: int
    code: str
    message: str
    context: Context | None = field(default=None, compare=False)
    call_path: tuple[Hop, ...] = field(default=(), compare=False)
    fix: str | None = field(default=None, compare=False)
    entries: tuple[Context, ...] = field(default=(), compare=False)
    #: ``blocking`` (reported by default) or ``possible`` (cheap or rare: off unless selected).
    severity: str = field(default="blocking", compare=False)
    #: ``blocking`` (a call that stalls the loop) or ``design`` (how the app is put together).
    category: str = field(default="blocking", compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``column`` is 1-based, like ``line``)."""
        return {
            "code": self.code,
            "message": self.message,
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "context": self.context.to_dict() if self.context is not None else None,
            "call_path": [hop.to_dict() for hop in self.call_path],
            "fix": self.fix,
            "entries": [entry.to_dict() for entry in self.entries],
            "severity": self.severity,
            "category": self.category,
        }
