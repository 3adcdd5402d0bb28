"""LS5xx: FastAPI configuration that costs the loop (``BaseHTTPMiddleware``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from loopsight.check._finding import Context, Finding, Hop
from loopsight.check._hooks import EntryKind, EntryPointFound
from loopsight.check.rules._registry import Rule, RuleFamily, register

__all__ = ["FastAPIConfig"]

_BASE_HTTP_MIDDLEWARE = Rule(
    "LS501",
    "base-http-middleware",
    "`BaseHTTPMiddleware` on the request path",
    "write a pure ASGI middleware (`async def __call__(self, scope, receive, send)`)",
    propagates=False,
    template="{message}: `{subject}`",
    category="design",
)


@register
class FastAPIConfig(RuleFamily):
    """Found from how middleware is declared, not from calls."""

    rules: ClassVar[tuple[Rule, ...]] = (_BASE_HTTP_MIDDLEWARE,)

    def on_entrypoint(self, found: EntryPointFound) -> Iterator[Finding]:
        """LS501 at ``@app.middleware("http")`` and at each ``BaseHTTPMiddleware`` subclass."""
        if found.kind is EntryKind.MIDDLEWARE and found.base_http:
            yield _BASE_HTTP_MIDDLEWARE.finding(
                found.path,
                found.line,
                found.col,
                found.subject,
                context=Context(found.kind.label, found.subject),
                call_path=(Hop(found.subject, found.path, found.line),),
            )
