"""The endpoints registry: which exporter serves ``<prefix>/<name>``, by decorator."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from loopsight.runtime.core import Runtime

__all__ = ["ENDPOINT_EXPORTERS", "Render", "endpoint"]

Render = Callable[[], tuple[bytes, str]]  # one response: body and content type
# Called once per app, when its endpoints are set up: subscribe, keep state, return the renderer.
ExporterFactory = Callable[["Runtime"], Render]

ENDPOINT_EXPORTERS: dict[str, ExporterFactory] = {}


def endpoint(name: str) -> Callable[[ExporterFactory], ExporterFactory]:
    """Serve what the decorated factory's renderer returns at ``<prefix>/<name>``."""

    def register(factory: ExporterFactory) -> ExporterFactory:
        ENDPOINT_EXPORTERS[name] = factory
        return factory

    return register
