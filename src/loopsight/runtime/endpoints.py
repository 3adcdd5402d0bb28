"""Token-protected HTTP endpoints served by the middleware under a prefix.

``metrics`` (Prometheus text), ``stalls`` (JSON), ``dashboard`` (HTML) and ``trace`` (Chrome
trace JSON). Each is off unless enabled, and every request must carry the token as
``Authorization: Bearer <token>`` or ``?token=<token>`` (compared in constant time).
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

import anyio.to_thread

from loopsight.errors import LoopsightError
from loopsight.runtime._types import Receive, Scope, Send
from loopsight.runtime.core import Runtime

if TYPE_CHECKING:
    from loopsight.runtime.exporters.prometheus import PrometheusExporter

__all__ = ["DEFAULT_PREFIX", "ENDPOINTS", "Endpoints"]

ENDPOINTS = ("metrics", "stalls", "dashboard", "trace")
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
        self._prometheus: PrometheusExporter | None = None
        if "metrics" in self.enabled:
            from loopsight.runtime.exporters.prometheus import PrometheusExporter

            self._prometheus = PrometheusExporter(runtime.snapshot)
            if self._prometheus.multiprocess:  # the other workers read this one's values
                runtime.add_tick_listener(self._prometheus.write)

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

    def _render(self, name: str) -> tuple[bytes, str]:
        if self._prometheus is not None and name == "metrics":
            return self._prometheus.render()
        snap = self.runtime.snapshot(recent_requests=name == "trace")
        if name == "stalls":
            from loopsight.runtime.exporters.json import stalls_document

            return json.dumps(stalls_document(snap)).encode(), "application/json"
        if name == "dashboard":
            from loopsight.runtime.exporters.dashboard import render_dashboard

            return render_dashboard(snap).encode(), "text/html; charset=utf-8"
        from loopsight.runtime.exporters.chrome_trace import chrome_trace

        return json.dumps(chrome_trace(snap)).encode(), "application/json"

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
            body, content_type = await anyio.to_thread.run_sync(self._render, name)
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
