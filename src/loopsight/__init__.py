"""loopsight: find, measure and fix event-loop blocking in FastAPI apps."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["__version__", "instrument"]


def __getattr__(name: str) -> Any:
    # Imported on first use so that ``loopsight check`` does not load the runtime.
    if name == "instrument":
        from loopsight.runtime.instrument import instrument

        return instrument
    raise AttributeError(f"module 'loopsight' has no attribute {name!r}")
