"""Log exporter: one stdlib ``logging`` line per stall (route, duration, culprit file:line)."""

from __future__ import annotations

import logging

from loopsight.runtime.records import Stall

__all__ = ["LogExporter"]


class LogExporter:
    """A stall listener that logs ``Stall.describe()`` at WARNING on ``logger``."""

    def __init__(self, logger: logging.Logger, level: int = logging.WARNING) -> None:
        self.logger = logger
        self.level = level

    def __call__(self, stall: Stall) -> None:
        """Log one line for ``stall``."""
        self.logger.log(self.level, "%s", stall.describe())
