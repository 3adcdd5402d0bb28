"""OpenTelemetry export against real uvicorn servers: span events and ``loop.stall`` spans with
the right parent and attributes, OTLP/HTTP end to end, and nothing imported without the extra."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from loopsight.runtime import Runtime, instrument
from loopsight.server import UvicornServer, free_port

from ._helpers import get_json, line_of, wait_for_stalls, write_module

APP = """
import os
import time

from fastapi import FastAPI
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import loopsight

memory = InMemorySpanExporter()
provider = TracerProvider(resource=Resource.create({"service.name": "otel-app"}))
provider.add_span_processor(SimpleSpanProcessor(memory))
if os.environ.get("OTLP_URL"):
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    otlp = OTLPSpanExporter(endpoint=os.environ["OTLP_URL"], timeout=2)
    provider.add_span_processor(BatchSpanProcessor(otlp, schedule_delay_millis=100))
trace.set_tracer_provider(provider)
reader = InMemoryMetricReader()
metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))

inner = FastAPI()


@inner.get("/slow/{n}")
async def slow(n: int):
    time.sleep(0.15)  # OTEL-STALL
    return {"n": n}


@inner.get("/fast")
async def fast():
    return {}


@inner.get("/otel-metrics")
async def otel_metrics():
    data = reader.get_metrics_data()
    return {
        m.name: [p.value for p in m.data.data_points]
        for rm in data.resource_metrics
        for sm in rm.scope_metrics
        if sm.scope.name == "loopsight"
        for m in sm.metrics
    }


@inner.get("/spans")
async def spans():
    return [
        {
            "name": s.name,
            "trace_id": format(s.context.trace_id, "032x"),
            "span_id": format(s.context.span_id, "016x"),
            "parent": format(s.parent.span_id, "016x") if s.parent else None,
            "attributes": dict(s.attributes),
            "events": [{"name": e.name, "attributes": dict(e.attributes)} for e in s.events],
        }
        for s in memory.get_finished_spans()
    ]


# FastAPI makes each request's server span ("GET /slow/{n}") outside user middleware.
app = loopsight.instrument(
    inner, threshold_ms=50, log_stalls=False, endpoints=["stalls"], token="test-token"
)
"""


@pytest.fixture(scope="module")
def app_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    directory = tmp_path_factory.mktemp("otel")
    return directory, write_module(directory, "otel_app", APP)


def _finished_spans(base: str, *names: str) -> list[dict[str, Any]]:
    """The app's finished spans, once one of each name has ended (or 10 s have passed)."""
    deadline = time.monotonic() + 10
    while True:
        spans: list[dict[str, Any]] = get_json(f"{base}/spans")
        if set(names) <= {s["name"] for s in spans} or time.monotonic() > deadline:
            return spans
        time.sleep(0.05)


@pytest.mark.slow
@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_stall_becomes_an_event_and_a_child_span(app_dir: tuple[Path, str], loop: str) -> None:
    directory, path = app_dir
    with UvicornServer(
        "otel_app:app",
        env={"PYTHONPATH": str(directory)},
        extra_args=["--loop", loop],
        health_path="/fast",
    ) as srv:
        with urllib.request.urlopen(f"{srv.url}/slow/7", timeout=10) as response:
            assert json.loads(response.read()) == {"n": 7}
        with urllib.request.urlopen(f"{srv.url}/fast", timeout=10):
            pass
        spans = _finished_spans(srv.url, "loop.stall", "GET /slow/{n}", "GET /fast")
        stalls = wait_for_stalls(srv.url, 1)
        otel_metrics = get_json(f"{srv.url}/otel-metrics")
    server = next(s for s in spans if s["name"] == "GET /slow/{n}")
    # A loaded machine may stall start-up too: that span has no request and no parent.
    stall_spans = [
        s
        for s in spans
        if s["name"] == "loop.stall" and s["attributes"].get("http.route") == "/slow/{n}"
    ]
    assert len(stall_spans) == 1, spans
    stall_span = stall_spans[0]
    assert stall_span["parent"] == server["span_id"]
    assert stall_span["trace_id"] == server["trace_id"]
    attributes = stall_span["attributes"]
    assert attributes["http.route"] == "/slow/{n}"
    assert Path(attributes["code.filepath"]).resolve() == Path(path).resolve()
    assert attributes["code.lineno"] == line_of(path, "OTEL-STALL")
    assert attributes["code.function"] == "slow"
    assert attributes["loop.stall.call"] == "time.sleep(0.15)"
    assert attributes["loop.stall.duration_ms"] >= 100
    assert attributes["loop.stall.starved"] in (True, False)
    assert attributes["loop.stall.gc"] in (True, False)
    # The event on the request's own span, with the same attributes.
    events = [e for e in server["events"] if e["name"] == "loop.stall"]
    assert len(events) == 1, server
    assert events[0]["attributes"] == attributes
    fast = next(s for s in spans if s["name"] == "GET /fast")
    assert fast["events"] == []
    # Stall count and lag as OTel metrics (start-up may have stalled too).
    assert otel_metrics["loop.stalls"][0] >= 1
    assert otel_metrics["loop.lag.sum"][0] >= 0.1
    assert "loop.lag.max" in otel_metrics
    # The stalls JSON names the same span.
    (stall,) = [s for s in stalls if s["activity"]["route"] == "/slow/{n}"]
    assert (stall["trace_id"], stall["span_id"]) == (server["trace_id"], server["span_id"])


class _Receiver(BaseHTTPRequestHandler):
    """An OTLP/HTTP trace receiver: decodes each protobuf export request as a collector does."""

    received: list[Any]

    def do_POST(self) -> None:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest,
            ExportTraceServiceResponse,
        )

        body = self.rfile.read(int(self.headers["Content-Length"]))
        assert self.path == "/v1/traces"
        assert self.headers["Content-Type"] == "application/x-protobuf"
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        for resource_spans in request.resource_spans:
            for scope_spans in resource_spans.scope_spans:
                self.received.extend(scope_spans.spans)
        reply = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[Any]]]:
    received: list[Any] = []
    handler = type("Receiver", (_Receiver,), {"received": received})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1/traces", received
    finally:
        server.shutdown()
        server.server_close()


def _attributes(span: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kv in span.attributes:
        value = kv.value
        out[kv.key] = getattr(value, value.WhichOneof("value"))
    return out


@pytest.mark.slow
def test_otlp_http_end_to_end(app_dir: tuple[Path, str], receiver: tuple[str, list[Any]]) -> None:
    directory, path = app_dir
    url, received = receiver
    with UvicornServer(
        "otel_app:app", env={"PYTHONPATH": str(directory), "OTLP_URL": url}, health_path="/fast"
    ) as srv:
        with urllib.request.urlopen(f"{srv.url}/slow/3", timeout=10):
            pass
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not {"loop.stall", "GET /slow/{n}"} <= {
            s.name for s in received
        }:
            time.sleep(0.05)
        time.sleep(0.3)  # the batch that holds the route's stall, if start-up stalled first
    # A loaded machine may stall start-up too: that span has no request and no parent.
    (stall_span,) = [
        s
        for s in received
        if s.name == "loop.stall" and _attributes(s).get("http.route") == "/slow/{n}"
    ]
    server = next(s for s in received if s.name == "GET /slow/{n}")
    assert stall_span.parent_span_id == server.span_id
    assert stall_span.trace_id == server.trace_id
    attributes = _attributes(stall_span)
    assert attributes["code.lineno"] == line_of(path, "OTEL-STALL")
    assert attributes["http.route"] == "/slow/{n}"
    assert [e.name for e in server.events] == ["loop.stall"]


@pytest.mark.slow
def test_unreachable_otlp_endpoint_keeps_the_app_serving(app_dir: tuple[Path, str]) -> None:
    directory, _ = app_dir
    url = f"http://127.0.0.1:{free_port()}/v1/traces"  # nothing listens there
    with UvicornServer(
        "otel_app:app", env={"PYTHONPATH": str(directory), "OTLP_URL": url}, health_path="/fast"
    ) as srv:
        for n in range(3):
            with urllib.request.urlopen(f"{srv.url}/slow/{n}", timeout=10) as response:
                assert json.loads(response.read()) == {"n": n}
        assert len(wait_for_stalls(srv.url, 3)) >= 3
        time.sleep(1.0)  # a few export attempts
        with urllib.request.urlopen(f"{srv.url}/fast", timeout=10) as response:
            assert response.status == 200
        log = srv.log_tail(200)
    assert "loopsight stall listener failed" not in log, log
    assert "Traceback" not in log, log


NO_OTEL = """
import asyncio, sys, time
from importlib.abc import MetaPathFinder


class NoOpenTelemetry(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "opentelemetry" or name.startswith("opentelemetry."):
            raise ModuleNotFoundError(f"No module named {name!r}")
        return None


sys.meta_path.insert(0, NoOpenTelemetry())

import httpx

import loopsight
from loopsight.runtime import get_runtime


async def app(scope, receive, send):  # plain ASGI: FastAPI itself may import opentelemetry
    if scope["path"] == "/slow":
        time.sleep(0.08)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


app = loopsight.instrument(app, threshold_ms=30, log_stalls=False)


async def main():
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.get("/fast")).status_code == 200  # the watch starts here
        await asyncio.sleep(0.05)
        assert (await client.get("/slow")).status_code == 200
        for _ in range(100):  # a loaded machine may close the stall a few beats later
            if get_runtime().watchdog.stall_count:
                break
            await asyncio.sleep(0.05)


asyncio.run(main())
assert get_runtime().watchdog.stall_count >= 1  # seen and built (held for a route)
loaded = sorted(m for m in sys.modules if m.startswith("opentelemetry") or m.endswith(".otel"))
print(loaded)
"""


def test_nothing_of_opentelemetry_is_imported_without_it() -> None:
    result = subprocess.run(
        [sys.executable, "-c", NO_OTEL], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_otel_false_installs_nothing(runtime: Runtime) -> None:
    instrument(FastAPI(), runtime=runtime, otel=False, log_stalls=False)
    assert runtime.watchdog.read_link is None
    assert runtime.listeners == []
