"""``instrument(app)``: the one call that turns the runtime on for an ASGI app."""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple, TypeVar

from loopsight.errors import LoopsightError
from loopsight.runtime.core import Runtime, get_runtime
from loopsight.runtime.endpoints import DEFAULT_PREFIX, ENDPOINTS, Endpoints
from loopsight.runtime.exporters.log import LogExporter
from loopsight.runtime.middleware import LoopsightMiddleware
from loopsight.runtime.watchdog import SAMPLERS

__all__ = ["API_NAMES", "ENDPOINTS", "OptionNames", "check_options", "instrument"]

App = TypeVar("App")


class OptionNames(NamedTuple):
    """How the caller spells each option, for the error messages of :func:`check_options`."""

    endpoints: str
    token: str
    threshold: str


API_NAMES = OptionNames("endpoints=[...]", "token=...", "threshold_ms")


def check_options(
    *,
    endpoints: Iterable[str],
    token: str | None,
    threshold_ms: float,
    sampler: str = "auto",
    names: OptionNames = API_NAMES,
) -> tuple[tuple[str, ...], str | None]:
    """The endpoints wanted (each once) and the token (``LOOPSIGHT_TOKEN`` if not given).

    Raises :class:`LoopsightError` with one line naming the bad input as ``names`` spells it.
    """
    wanted = tuple(dict.fromkeys(endpoints))
    unknown = sorted(set(wanted) - set(ENDPOINTS))
    if unknown:
        raise LoopsightError(
            f"unknown endpoint(s) {', '.join(unknown)}; choose from {', '.join(ENDPOINTS)}"
        )
    token = token if token is not None else os.environ.get("LOOPSIGHT_TOKEN")
    if wanted and not token:
        raise LoopsightError(
            f"{names.endpoints} needs {names.token} (or LOOPSIGHT_TOKEN): the endpoints expose "
            "your app's stacks and routes"
        )
    if threshold_ms <= 0:
        raise LoopsightError(f"{names.threshold} must be positive, got {threshold_ms:g}")
    if sampler not in SAMPLERS:
        raise LoopsightError(f"unknown sampler {sampler!r}; choose from {', '.join(SAMPLERS)}")
    return wanted, token


def instrument(
    app: App,
    *,
    threshold_ms: float = 100.0,
    server_timing: bool = False,
    process_time: bool = False,
    endpoints: Iterable[str] = (),
    token: str | None = None,
    prefix: str = DEFAULT_PREFIX,
    log_stalls: bool = True,
    sampler: str = "auto",
    otel: bool = True,
    runtime: Runtime | None = None,
) -> App | Any:
    """Watch ``app``'s event loop for stalls and time its requests.

    Starlette and FastAPI apps are changed in place (the middleware is added outermost among
    user middleware) and returned; any other ASGI callable is returned wrapped, so always use
    the return value: ``app = loopsight.instrument(app)``.

    ``server_timing`` and ``process_time`` add the ``Server-Timing`` and ``X-Process-Time``
    response headers; they are off by default: they cost more than the rest of the runtime, and
    ``Server-Timing`` tells any client how long the server spent.

    ``endpoints`` turns on any of ``metrics``, ``stalls``, ``dashboard``, ``trace`` under
    ``prefix``; they are off by default and each requires ``token`` (or ``LOOPSIGHT_TOKEN``),
    sent as ``Authorization: Bearer <token>`` or ``?token=``.

    ``sampler`` chooses how a stalled loop's stack is read: ``"auto"`` uses a ``SIGALRM`` timer
    that only fires during a stall when the loop runs on the main thread and the signal is
    free, and a monitor thread elsewhere; ``"thread"`` always uses the thread, which wakes
    every 25 ms and costs a busy server a few percent.

    ``otel`` (on unless ``False``) exports each stall to OpenTelemetry when ``opentelemetry-api``
    is installed and the application has set a tracer provider: an event on the span active in
    the stalled request and a ``loop.stall`` span under it; loop lag and stall counts go to the
    meter provider when one is set. Without OpenTelemetry installed, nothing is imported.
    """
    wanted, token = check_options(
        endpoints=endpoints, token=token, threshold_ms=threshold_ms, sampler=sampler
    )
    rt = runtime if runtime is not None else get_runtime()
    _configure(rt, threshold_ms=threshold_ms, sampler=sampler, log=log_stalls)
    handler = Endpoints(rt, token=token or "", enabled=wanted, prefix=prefix) if wanted else None
    options = {
        "runtime": rt,
        "server_timing": server_timing,
        "process_time": process_time,
        "endpoints": handler,
        "current_span": _install_otel(rt) if otel else None,
    }
    return _add_middleware(app, options)


def _configure(rt: Runtime, *, threshold_ms: float, sampler: str, log: bool) -> None:
    """Apply the options to the (possibly shared) runtime, and install the monitors."""
    rt.threshold = threshold_ms / 1000.0
    rt.watchdog.sampler = sampler
    rt.background.install()
    if log:
        rt.add_listener(_LOG_EXPORTER)


def _install_otel(rt: Runtime) -> Callable[[], object] | None:
    """Subscribe the OpenTelemetry exporter once per runtime, if ``opentelemetry`` is there;
    return what reads a request's span."""
    try:
        if importlib.util.find_spec("opentelemetry.trace") is None:
            return None
    except (ImportError, ValueError):
        return None
    from loopsight.runtime.exporters.otel import OtelExporter, current_span

    if rt.watchdog.read_link is None:
        exporter = OtelExporter(rt)
        rt.watchdog.read_link = exporter.read_link
        rt.add_listener(exporter.on_stall)
        exporter.register_metrics()
    return current_span


def _add_middleware(app: Any, options: dict[str, Any]) -> Any:
    """Add the middleware outermost among a Starlette app's own, or wrap any other app."""
    add_middleware = getattr(app, "add_middleware", None)
    user_middleware = getattr(app, "user_middleware", None)
    if isinstance(app, LoopsightMiddleware) or any(
        getattr(m, "cls", None) is LoopsightMiddleware for m in user_middleware or ()
    ):
        return app  # already instrumented: once is enough (the threshold was updated above)
    if callable(add_middleware) and user_middleware is not None:
        try:
            add_middleware(LoopsightMiddleware, **options)
            return app
        except RuntimeError as exc:  # Starlette refuses once the app has started
            raise LoopsightError(f"cannot instrument a running app: {exc}") from exc
    return LoopsightMiddleware(app, **options)


_LOG_EXPORTER = LogExporter(logging.getLogger("loopsight"))
