"""Exporters: one module per output format, each reading a :class:`Snapshot` or a :class:`Stall`.

Pull exporters render a :class:`~loopsight.runtime.snapshot.Snapshot` (``json``,
``dashboard``, ``chrome_trace``, ``prometheus``); push exporters are listeners the runtime calls
with each published :class:`~loopsight.runtime.records.Stall` (``Runtime.add_listener``: ``log``)
or with a snapshot about once a second (``Runtime.add_tick_listener``). None reads another
component's fields.
"""

from __future__ import annotations

__all__: list[str] = []
