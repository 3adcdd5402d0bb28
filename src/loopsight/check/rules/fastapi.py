"""LS5xx: FastAPI configuration that costs the loop (``BaseHTTPMiddleware``)."""

from __future__ import annotations

from typing import ClassVar

from loopsight.check.rules._registry import Rule, RuleFamily, register

__all__ = ["BASE_HTTP_MIDDLEWARE", "FastAPIConfig"]

#: Canonical names of Starlette's ``BaseHTTPMiddleware`` (also behind ``@app.middleware``).
BASE_HTTP_MIDDLEWARE = frozenset(
    {"starlette.middleware.base.BaseHTTPMiddleware", "fastapi.middleware.base.BaseHTTPMiddleware"}
)


@register
class FastAPIConfig(RuleFamily):
    """Found from registrations by the entry-point step, not from calls."""

    rules: ClassVar[tuple[Rule, ...]] = (
        Rule(
            "LS501",
            "base-http-middleware",
            "`BaseHTTPMiddleware` on the request path",
            "write a pure ASGI middleware (`async def __call__(self, scope, receive, send)`)",
            propagates=False,
        ),
    )
