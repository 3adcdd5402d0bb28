"""LS6xx: thread-pool deadlocks (a ``def`` route holding a pooled session from a yield
dependency while its response waits for a thread)."""

from __future__ import annotations

from typing import ClassVar

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


@register
class ThreadPoolDeadlock(RuleFamily):
    """Found from routes and their dependencies by the session step, not from calls."""

    rules: ClassVar[tuple[Rule, ...]] = (
        Rule(
            "LS601",
            "yield-session-in-def-route",
            "`def` route takes a pooled session from a yield dependency",
            "open the session inside the route (`with SessionLocal() as session:`), or use an "
            "`async def` route with an `AsyncSession`, or return a `Response` (no response model)",
            propagates=False,
        ),
    )
