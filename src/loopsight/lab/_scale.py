"""The lab's time scale, fixed when the server starts (``LOOPSIGHT_LAB_SCALE``, default 1).

Every sleep in the lab app is ``scaled(seconds)``: at scale 0.1 the seed's 3 s call takes 0.3 s,
so a run that took the seed 36 s takes 3.6 s and is reported back as 36 s.
"""

from __future__ import annotations

import os

__all__ = ["ENV_VAR", "SCALE", "scaled"]

ENV_VAR = "LOOPSIGHT_LAB_SCALE"


def _read_scale() -> float:
    raw = os.environ.get(ENV_VAR, "1")
    try:
        value = float(raw)
    except ValueError:
        raise SystemExit(f"{ENV_VAR}={raw!r} is not a number: give a positive factor") from None
    if not value > 0:
        raise SystemExit(f"{ENV_VAR}={raw!r} must be a positive factor")
    return value


SCALE = _read_scale()


def scaled(seconds: float) -> float:
    """``seconds`` of the seed's time, in this server's time."""
    return seconds * SCALE
