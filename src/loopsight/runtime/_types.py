"""ASGI types used by the runtime middleware, after uvicorn's and httpx's ``_types`` modules."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any, Literal, TypedDict

__all__ = [
    "ASGIApp",
    "HTTPResponseStartEvent",
    "Message",
    "Receive",
    "Scope",
    "Send",
]

# Scopes and messages are open mappings: servers and frameworks add keys of their own.
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class HTTPResponseStartEvent(TypedDict, total=False):
    """The ``http.response.start`` message the middleware rewrites to add its headers."""

    type: Literal["http.response.start"]
    status: int
    headers: Iterable[tuple[bytes, bytes]]
    trailers: bool
