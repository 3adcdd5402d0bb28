"""What to load and how: the run configuration, its validation, and the request it sends."""

from __future__ import annotations

import math
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from loopsight import __version__
from loopsight.errors import LoopsightError

__all__ = ["LoadConfig", "Target"]

_OPEN_MODES = ("all", "ab")
_TOKEN_CHARS = frozenset(string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~")


@dataclass(frozen=True)
class Target:
    """Where the requests go, parsed from an ``http://`` URL."""

    host: str  # as passed to connect(): IPv6 without brackets
    port: int
    path: str  # path and query, never empty
    authority: str  # the Host header: host[:port] as written in the URL


@dataclass(frozen=True)
class LoadConfig:
    """One load run: ``n`` requests (or ``duration`` seconds) over ``c`` keep-alive connections.

    Closed loop by default (each connection sends its next request when the previous one
    completes); open loop when ``rate`` is set (request ``i`` is due at ``i / rate`` seconds).
    ``open_mode="ab"`` sends one probe request alone before opening the other ``c - 1``
    connections, as ApacheBench >= 2.4.33 does (closed loop only). A ``duration`` overrides
    ``n`` (as in oha): ``n`` is then set to ``None``. Runs of at most ``exact_limit`` requests
    keep each request's record and report exact percentiles; longer ones keep counters, a
    histogram (percentiles within 0.1 %) and a per-second timeline, in constant memory.
    """

    url: str
    n: int | None = 200  # None when duration is given
    c: int = 100
    open_mode: Literal["all", "ab"] = "all"
    rate: float | None = None  # open loop when set
    duration: float | None = None
    method: str = "GET"
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    timeout: float = 30.0  # per request
    # keep every request's record (exact percentiles) up to this many; a histogram beyond
    exact_limit: int = 20_000

    def __post_init__(self) -> None:
        if self.duration is not None and self.n is not None:
            object.__setattr__(self, "n", None)  # frozen: the one normalisation we allow

    def validate(self) -> None:
        """Raise :class:`LoopsightError` with a one-line message if the config cannot run."""
        self.target()
        if self.n is None and self.duration is None:
            raise LoopsightError("give a request count (-n) or a duration (--duration)")
        if self.n is not None and self.n <= 0:
            raise LoopsightError(f"request count (-n) must be positive, got {self.n}")
        if self.c <= 0:
            raise LoopsightError(f"concurrency (-c) must be positive, got {self.c}")
        if self.n is not None and self.c > self.n:
            raise LoopsightError(
                f"concurrency (-c {self.c}) cannot exceed the request count (-n {self.n})"
            )
        if self.exact_limit < 0:
            raise LoopsightError(f"exact_limit must not be negative, got {self.exact_limit}")
        _positive("duration (--duration)", self.duration)
        _positive("rate (--rate)", self.rate)
        _positive("timeout (--timeout)", self.timeout)
        if self.open_mode not in _OPEN_MODES:
            raise LoopsightError(f"--open must be 'all' or 'ab', got {self.open_mode!r}")
        if self.open_mode == "ab" and self.rate is not None:
            raise LoopsightError("--open ab applies to the closed loop only, not with --rate")
        if not self.method or not set(self.method) <= _TOKEN_CHARS:
            raise LoopsightError(f"invalid HTTP method {self.method!r}")
        for name, value in self.headers.items():
            if not name or not set(name) <= _TOKEN_CHARS:
                raise LoopsightError(f"invalid header name {name!r}")
            if "\r" in value or "\n" in value:
                raise LoopsightError(f"header {name!r} has a line break in its value")
            try:
                value.encode("latin-1")
            except UnicodeEncodeError:
                raise LoopsightError(f"header {name!r} has non-latin-1 characters") from None

    def target(self) -> Target:
        """Parse :attr:`url`; raise :class:`LoopsightError` if it is not a usable http URL."""
        try:
            parts = urlsplit(self.url)
            port = parts.port
        except ValueError as exc:
            raise LoopsightError(f"invalid URL {self.url!r}: {exc}") from None
        if parts.scheme.lower() != "http":
            if parts.scheme.lower() == "https":
                raise LoopsightError(f"https is not supported, use an http:// URL: {self.url!r}")
            raise LoopsightError(f"URL must start with http://, got {self.url!r}")
        if not parts.hostname:
            raise LoopsightError(f"URL has no host: {self.url!r}")
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        if any(ch in path for ch in " \r\n"):
            raise LoopsightError(f"URL path must not contain spaces or line breaks: {self.url!r}")
        authority = parts.netloc.rpartition("@")[2]
        return Target(parts.hostname, port or 80, path, authority)

    def request_bytes(self) -> bytes:
        """The exact bytes of one request, built once and sent as is on every request."""
        target = self.target()
        headers = {"Host": target.authority, "User-Agent": f"loopsight/{__version__}"}
        headers["Accept"] = "*/*"
        lower = {name.lower(): name for name in headers}
        for name, value in self.headers.items():
            headers.pop(lower.get(name.lower(), name), None)
            headers[name] = value
        sends_body = self.body or self.method.upper() in ("POST", "PUT", "PATCH")
        if sends_body and not any(name.lower() == "content-length" for name in headers):
            headers["Content-Length"] = str(len(self.body))
        head = f"{self.method} {target.path} HTTP/1.1\r\n"
        head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        return (head + "\r\n").encode("latin-1") + self.body


def _positive(what: str, value: float | None) -> None:
    if value is not None and not (value > 0 and math.isfinite(value)):
        raise LoopsightError(f"{what} must be a positive number, got {value:g}")
