"""Fixtures of the runtime tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from loopsight.runtime import Runtime, reset_runtime


@pytest.fixture
def runtime() -> Iterator[Runtime]:
    """A private runtime with a 20 ms threshold, closed (thread stopped) after the test."""
    rt = Runtime(threshold=0.02)
    yield rt
    rt.close()


@pytest.fixture(autouse=True)
def _fresh_global_runtime() -> Iterator[None]:
    yield
    reset_runtime()
