"""OpenTelemetry exporter: each stall as an event on the stalled request's span and as its own
``loop.stall`` span; loop lag and stall counts as OTel metrics.

Imported only when ``opentelemetry-api`` is importable (``instrument`` checks first), and idle
until the application sets a real tracer (or meter) provider: the API's proxy and no-op
providers export nothing. The request's span is read from the stalled task's context by the
stall sampler, during the stall only (:meth:`OtelExporter.read_link`), so a request pays
nothing for it; the span ids travel in the frozen :class:`~loopsight.runtime.records.Stall`.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from opentelemetry import metrics, trace
from opentelemetry.util.types import AttributeValue

from loopsight.runtime.records import Stall

if TYPE_CHECKING:
    from collections.abc import Iterable

    from loopsight.runtime.builder import SpanLink
    from loopsight.runtime.core import Runtime
    from loopsight.runtime.registry import LiveActivity

__all__ = ["STALL_EVENT", "STALL_SPAN", "OtelExporter", "current_span", "stall_attributes"]

STALL_EVENT = "loop.stall"
STALL_SPAN = "loop.stall"
_KEPT_SPANS = 256  # spans seen stalled whose stall is not published yet; a stall publishes soon
_log = logging.getLogger("loopsight")


def _real(provider: object, proxy: tuple[type, ...]) -> bool:
    return not isinstance(provider, proxy)


def tracing_on() -> bool:
    """True once the application has set a tracer provider that records (not the API's own)."""
    return _real(trace.get_tracer_provider(), (trace.ProxyTracerProvider, trace.NoOpTracerProvider))


def current_span() -> object:
    """The span a request is served under (the tracing middleware's server span), read by the
    middleware as the request enters; ``None`` when there is none."""
    # Before the app sets a tracer provider there is no span: one attribute read, where the
    # API's lookup costs a request about 1 us (private name, hence the default).
    if getattr(trace, "_TRACER_PROVIDER", True) is None:
        return None
    span = trace.get_current_span()
    return span if span.get_span_context().is_valid else None


def stall_attributes(stall: Stall) -> dict[str, AttributeValue]:
    """The attributes of a stall's span event and span (OTel semantic names where one exists)."""
    attributes: dict[str, AttributeValue] = {
        "loop.stall.duration_ms": round(stall.duration * 1000, 3),
        "loop.stall.activity": stall.activity.label,
        "loop.stall.starved": stall.starved,
        "loop.stall.gc": stall.gc_collections > 0,
        "process.pid": stall.pid,
    }
    if stall.activity.route:
        attributes["http.route"] = stall.activity.route
    if stall.activity.method:
        attributes["http.request.method"] = stall.activity.method
    culprit = stall.culprit
    if culprit is not None:
        attributes["code.filepath"] = culprit.file
        attributes["code.lineno"] = culprit.line
        attributes["code.function"] = culprit.function
        if culprit.call:
            attributes["loop.stall.call"] = culprit.call
    return attributes


class OtelExporter:
    """Stalls to the application's tracer provider; lag and stall counts to its meter provider.

    Subscribe :meth:`on_stall` as a stall listener, set :meth:`read_link` as the watchdog's span
    reader, and call :meth:`register_metrics` once.
    """

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._spans: OrderedDict[str, Any] = OrderedDict()  # span id (hex) -> span, bounded
        self._lock = threading.Lock()

    # -- at sample time, during a stall --------------------------------------------------------
    def read_link(
        self, task: asyncio.Task[Any] | None, live: LiveActivity | None
    ) -> SpanLink | None:
        """The (trace id, span id) of the stalled request's span, and keep that span for the
        stall's event: the span the request entered loopsight's middleware under, else the one
        active in ``task``. Runs in the sampler; never raises."""
        try:
            span = live.span if live is not None else None
            if span is None:
                context = _context_of(task)
                if context is None or not tracing_on():
                    return None
                span = context.run(trace.get_current_span)
            span_context = span.get_span_context()
            if not span_context.is_valid:
                return None
            link = (format(span_context.trace_id, "032x"), format(span_context.span_id, "016x"))
            with self._lock:
                self._spans[link[1]] = span
                while len(self._spans) > _KEPT_SPANS:
                    self._spans.popitem(last=False)
            return link
        except Exception:  # the sampler must go on; this stall just has no span
            return None

    # -- when a stall is published ---------------------------------------------------------------
    def on_stall(self, stall: Stall) -> None:
        """Add the stall's event to its request's span (if still open) and export its own span."""
        if not tracing_on():
            return
        attributes = stall_attributes(stall)
        start_ns = int(stall.wall_start * 1e9)
        end_ns = int((stall.wall_start + stall.duration) * 1e9)
        parent: Any = None
        if stall.span_id:
            with self._lock:
                parent = self._spans.pop(stall.span_id, None)
            if parent is not None and parent.is_recording():
                parent.add_event(STALL_EVENT, attributes, timestamp=start_ns)
        context = None
        if parent is not None:
            context = trace.set_span_in_context(parent)
        elif stall.span_id:
            remote = trace.SpanContext(
                int(stall.trace_id, 16),
                int(stall.span_id, 16),
                is_remote=False,
                trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED),
            )
            context = trace.set_span_in_context(trace.NonRecordingSpan(remote))
        tracer = trace.get_tracer("loopsight")
        span = tracer.start_span(
            STALL_SPAN, context=context, attributes=attributes, start_time=start_ns
        )
        span.end(end_time=end_ns)

    # -- when the application's meter provider collects ---------------------------------------
    def register_metrics(self) -> None:
        """Create the observable instruments; the API binds them to the application's meter
        provider whenever it is set, and their callbacks run only when it collects."""
        meter = metrics.get_meter("loopsight")
        meter.create_observable_counter(
            "loop.stalls", [self._stall_count], unit="{stall}", description="Event-loop stalls."
        )
        meter.create_observable_counter(
            "loop.lag.sum", [self._lag_sum], unit="s", description="Sum of event-loop lag."
        )
        meter.create_observable_gauge(
            "loop.lag.max", [self._lag_max], unit="s", description="Worst lag of the last second."
        )

    def _stall_count(self, options: metrics.CallbackOptions) -> Iterable[metrics.Observation]:
        return [metrics.Observation(self.runtime.watchdog.stall_count)]

    def _lag_sum(self, options: metrics.CallbackOptions) -> Iterable[metrics.Observation]:
        return [metrics.Observation(self.runtime.watchdog.lag_sum)]

    def _lag_max(self, options: metrics.CallbackOptions) -> Iterable[metrics.Observation]:
        series = self.runtime.series
        return [metrics.Observation(series[-1].lag_max if series else 0.0)]


def _context_of(task: asyncio.Task[Any] | None) -> contextvars.Context | None:
    """A copy of ``task``'s context: its own on Python 3.12+, else the current one when the
    sampler runs inside the task (the SIGALRM handler interrupts the stalled task)."""
    if task is None:
        return None
    get_context = getattr(task, "get_context", None)
    if get_context is not None:
        context: contextvars.Context = get_context()
        return context.copy()
    try:
        if asyncio.current_task() is task:
            return contextvars.copy_context()
    except RuntimeError:  # no loop on this thread: the monitor thread, before Python 3.12
        return None
    return None
