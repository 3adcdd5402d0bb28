"""LS6xx: thread-pool deadlocks (a ``def`` route holding a pooled session from a yield
dependency while its response waits for a thread)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from loopsight.check._finding import Context, Finding, Hop
from loopsight.check._hooks import DependencyFound, EntryKind
from loopsight.check.rules._registry import Rule, RuleFamily, register

__all__ = ["POOLED_SESSIONS", "ThreadPoolDeadlock"]

#: Canonical types of what a ``with <call>() as x:`` holds that keeps a pooled connection.
POOLED_SESSIONS = frozenset(
    {
        "sqlalchemy.orm.Session()",
        "sqlalchemy.Connection()",
        "sqlalchemy.orm.sessionmaker().begin()",
    }
)


_DEADLOCK = Rule(
    "LS601",
    "yield-session-in-def-route",
    "`def` route takes a pooled session from a yield dependency",
    "open the session inside the route (`with SessionLocal() as session:`), or use an "
    "`async def` route with an `AsyncSession`, or return a `Response` (no response model)",
    propagates=False,
    template="`def` route `{route}` takes a pooled session from yield dependency "
    "`{subject}`{via}: its response is validated in the thread pool before the "
    "session closes, so with more requests than threads it can deadlock",
    category="design",
)


@register
class ThreadPoolDeadlock(RuleFamily):
    """Found from routes and their dependencies, not from calls."""

    rules: ClassVar[tuple[Rule, ...]] = (_DEADLOCK,)

    def on_dependency(self, found: DependencyFound) -> Iterator[Finding]:
        """LS601 at a validated ``def`` route's parameter whose dependency (or a sub-dependency)
        yields while it holds a pooled session open."""
        route = found.route
        if route.is_async or not route.validates:
            return
        chain = found.holding(POOLED_SESSIONS.__contains__)
        if not chain:
            return
        line, col = found.parameter.line, found.parameter.col
        yield _DEADLOCK.finding(
            found.path,
            line,
            col,
            chain[-1].function,
            route=route.qualname,
            via=f" via `{chain[0].function}`" if len(chain) > 1 else "",
            context=Context(EntryKind.ROUTE.label, route.qualname, found.label),
            call_path=(Hop(route.qualname, found.path, line), *chain),
        )
