"""Service requirements shared by every test package (on ``sys.path`` via pytest's
``pythonpath``): a missing service skips its tests, unless CI says it must be there."""

from __future__ import annotations

import os

import pytest


def require(service: str, available: bool, why: str) -> None:
    """Skip when ``service`` is missing, but fail when ``LOOPSIGHT_REQUIRE`` lists it."""
    if available:
        return
    required = {s.strip() for s in os.environ.get("LOOPSIGHT_REQUIRE", "").split(",")}
    if service in required:
        pytest.fail(f"{service} is required (LOOPSIGHT_REQUIRE) but unavailable: {why}")
    pytest.skip(f"{service} unavailable: {why}")
