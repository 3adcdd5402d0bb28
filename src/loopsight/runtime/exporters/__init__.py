"""Exporters: one module per output format, each reading records and aggregates only."""

from __future__ import annotations

__all__: list[str] = []
