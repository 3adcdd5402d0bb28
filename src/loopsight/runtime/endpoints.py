"""Token-protected HTTP endpoints served by the middleware under a prefix.

``metrics`` (Prometheus text), ``stalls`` (JSON), ``dashboard`` (HTML) and ``trace`` (Chrome
trace JSON). Each is off unless enabled, and every request must carry the token as
``Authorization: Bearer <token>`` or ``?token=<token>`` (compared in constant time).
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from urllib.parse import parse_qs

import anyio.to_thread

from loopsight.errors import LoopsightError
from loopsight.runtime._types import Receive, Scope, Send
from loopsight.runtime.core import Runtime
from loopsight.runtime.exporters import ENDPOINT_EXPORTERS, ENDPOINTS

__all__ = ["DEFAULT_PREFIX", "ENDPOINTS", "Endpoints"]

DEFAULT_PREFIX = "/_loopsight"


class Endpoints:
    """Serves the enabled endpoints at ``<prefix>/<name>``; anything else falls through."""

    def __init__(
        self, runtime: Runtime, *, token: str, enabled: Iterable[str], prefix: str = DEFAULT_PREFIX
    ) -> None:
        if not token:
            raise LoopsightError("loopsight endpoints need a non-empty token")
        self.runtime = runtime
        self.enabled = frozenset(enabled)
        self.prefix = "/" + prefix.strip("/")
        self._token = token.encode()
        # Each set up now: a metrics exporter starts publishing, the trace starts recording.
        self._renderers = {name: ENDPOINT_EXPORTERS[name](runtime) for name in self.enabled}

    def authorized(self, scope: Scope) -> bool:
        """True if the request carries the token."""
        supplied = b""
        for name, value in scope.get("headers", ()):
            if name.lower() == b"authorization" and value[:7].lower() == b"bearer ":
                supplied = value[7:].strip()
                break
        if not supplied:
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            supplied = query.get("token", [""])[0].encode("latin-1")
        return bool(supplied) and hmac.compare_digest(supplied, self._token)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> bool:
        """Answer if the path is an enabled endpoint; return False to let the app answer."""
        name = scope.get("path", "")[len(self.prefix) :].strip("/")
        if name not in self.enabled:
            return False
        if scope.get("method", "GET") not in ("GET", "HEAD"):
            await _respond(send, 405, b"method not allowed\n", "text/plain", allow=b"GET, HEAD")
        elif not self.authorized(scope):
            await _respond(send, 401, b"loopsight: token required\n", "text/plain")
        else:
            await self.runtime.published()
            # Off the loop: the metrics exporter takes a lock and reads its multiprocess files.
            body, content_type = await anyio.to_thread.run_sync(self._renderers[name])
            await _respond(send, 200, body, content_type, head=scope.get("method") == "HEAD")
        return True


async def _respond(
    send: Send,
    status: int,
    body: bytes,
    content_type: str,
    *,
    head: bool = False,
    allow: bytes | None = None,
) -> None:
    headers = [
        (b"content-type", content_type.encode("latin-1")),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
    ]
    if status == 401:
        headers.append((b"www-authenticate", b'Bearer realm="loopsight"'))
    if allow is not None:
        headers.append((b"allow", allow))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else body})
