"""Exporters: one module per output format, each reading a :class:`Snapshot` or a :class:`Stall`.

Pull exporters render a :class:`~loopsight.runtime.snapshot.Snapshot` (``json``,
``dashboard``, ``chrome_trace``, ``prometheus``) and register the endpoint that serves them with
``@endpoint(name)``; push exporters are listeners the runtime calls with each published
:class:`~loopsight.runtime.records.Stall` (``Runtime.add_listener``: ``log``) or with a snapshot
about once a second (``Runtime.add_tick_listener``). None reads another component's fields.
A new one is a module here, imported below.
"""

from __future__ import annotations

# Imported for their @endpoint registrations.
from loopsight.runtime.exporters import chrome_trace, dashboard, json, prometheus  # noqa: F401
from loopsight.runtime.exporters._registry import ENDPOINT_EXPORTERS, Render, endpoint

__all__ = ["ENDPOINTS", "ENDPOINT_EXPORTERS", "Render", "endpoint"]

ENDPOINTS = tuple(sorted(ENDPOINT_EXPORTERS))  # what instrument(endpoints=...) accepts
