"""Token-protected HTTP endpoints served by the middleware under a prefix.

``metrics`` (Prometheus text), ``stalls`` (JSON), ``dashboard`` (HTML) and ``trace`` (Chrome
trace JSON). Each is off unless enabled, and every request must carry the token as
``Authorization: Bearer <token>``, as ``?token=<token>``, or the session cookie a browser gets
for it (all compared in constant time).

The token is kept out of what gets logged: a ``?token=`` is removed from the request's
``query_string`` before the response starts (uvicorn's access log reads the scope then), and on
the dashboard it is exchanged for an HttpOnly, SameSite=Strict cookie scoped to the prefix,
with a redirect to the same URL without it, so it leaves the address bar and the history too.
Anything in front of the server (a proxy, a load balancer) logs the URL it received: there,
send the header.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode

import anyio
import anyio.to_thread

from loopsight.errors import LoopsightError
from loopsight.runtime._types import Receive, Scope, Send
from loopsight.runtime.core import Runtime
from loopsight.runtime.exporters import ENDPOINT_EXPORTERS, ENDPOINTS

__all__ = ["DEFAULT_PREFIX", "ENDPOINTS", "SESSION_COOKIE", "Endpoints"]

DEFAULT_PREFIX = "/_loopsight"
SESSION_COOKIE = "loopsight_session"


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
        # The cookie holds a value derived from the token: a browser never stores the token.
        digest = hmac.new(self._token, b"loopsight session", hashlib.sha256).hexdigest()
        self._session = digest.encode()
        # Each set up now: a metrics exporter starts publishing, the trace starts recording.
        self._renderers = {name: ENDPOINT_EXPORTERS[name](runtime) for name in self.enabled}

    def authorized(self, scope: Scope, query_token: bytes = b"") -> bool:
        """True if the request carries the token (header, or ``query_token`` taken from its
        query string) or the session cookie."""
        supplied = cookie = b""
        for name, value in scope.get("headers", ()):
            name = name.lower()
            if name == b"authorization" and value[:7].lower() == b"bearer ":
                supplied = value[7:].strip()
            elif name == b"cookie":
                cookie = cookie or _cookie(value, SESSION_COOKIE.encode())
        if supplied:
            return hmac.compare_digest(supplied, self._token)
        if cookie and hmac.compare_digest(cookie, self._session):
            return True
        return bool(query_token) and hmac.compare_digest(query_token, self._token)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> bool:
        """Answer if the path is an enabled endpoint; return False to let the app answer."""
        name = scope.get("path", "")[len(self.prefix) :].strip("/")
        if name not in self.enabled:
            return False
        query_token = _take_query_token(scope)
        if scope.get("method", "GET") not in ("GET", "HEAD"):
            await _respond(send, 405, b"method not allowed\n", "text/plain", allow=b"GET, HEAD")
        elif not self.authorized(scope, query_token):
            await _respond(send, 401, b"loopsight: token required\n", "text/plain")
        elif query_token and name == "dashboard":
            await self._start_session(scope, send)
        else:
            await self.runtime.published()
            # Off the loop (the metrics exporter takes a lock and reads its multiprocess files),
            # and under a limiter of its own: anyio's default one is what the dashboard shows.
            render = self._renderers[name]
            body, content_type = await anyio.to_thread.run_sync(
                render, limiter=anyio.CapacityLimiter(1)
            )
            await _respond(send, 200, body, content_type, head=scope.get("method") == "HEAD")
        return True

    async def _start_session(self, scope: Scope, send: Send) -> None:
        """Trade a ``?token=`` for the session cookie; send the browser back without it."""
        query = scope.get("query_string", b"")
        location = scope.get("root_path", "") + scope.get("path", "")
        location += "?" + query.decode("latin-1") if query else ""
        path = scope.get("root_path", "") + self.prefix
        secure = "; Secure" if scope.get("scheme") == "https" else ""
        cookie = f"{SESSION_COOKIE}={self._session.decode()}; Path={path}; HttpOnly; "
        cookie += f"SameSite=Strict{secure}"
        extra = [(b"location", location.encode("latin-1")), (b"set-cookie", cookie.encode())]
        await _respond(send, 303, b"", "text/plain", extra=extra)


def _cookie(header: bytes, name: bytes) -> bytes:
    """The value of cookie ``name`` in one ``Cookie`` header, or ``b""``."""
    for part in header.split(b";"):
        key, sep, value = part.strip().partition(b"=")
        if sep and key == name:
            return value.strip()
    return b""


def _take_query_token(scope: Scope) -> bytes:
    """Remove ``token`` from the request's query string, in place, and return its value.

    In place: the server logs the request line from this scope once the response starts.
    """
    raw: bytes = scope.get("query_string", b"")
    if b"token" not in raw:  # the usual request: nothing to parse
        return b""
    pairs = parse_qsl(raw.decode("latin-1"), keep_blank_values=True)
    tokens = [value for key, value in pairs if key == "token"]
    if not tokens:
        return b""
    kept = [(key, value) for key, value in pairs if key != "token"]
    scope["query_string"] = urlencode(kept).encode("latin-1")
    return tokens[0].encode("latin-1")


async def _respond(
    send: Send,
    status: int,
    body: bytes,
    content_type: str,
    *,
    head: bool = False,
    allow: bytes | None = None,
    extra: list[tuple[bytes, bytes]] | None = None,
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
    headers.extend(extra or ())
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else body})
