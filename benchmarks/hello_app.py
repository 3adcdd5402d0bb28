"""A raw ASGI app answering "hello": the cheapest request uvicorn can serve (load_ceiling.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Message = MutableMapping[str, Any]

_START: Message = {
    "type": "http.response.start",
    "status": 200,
    "headers": [(b"content-type", b"text/plain"), (b"content-length", b"5")],
}
_BODY: Message = {"type": "http.response.body", "body": b"hello"}


async def app(
    scope: MutableMapping[str, Any],
    receive: Callable[[], Awaitable[Message]],
    send: Callable[[Message], Awaitable[None]],
) -> None:
    """Answer every HTTP request with ``200 hello``; ignore lifespan."""
    if scope["type"] != "http":
        return
    await send(_START)
    await send(_BODY)
