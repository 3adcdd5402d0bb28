"""Stall attribution reads the locals a frame's owner declared, whatever they are called."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Iterator
from types import FrameType
from typing import Any

import pytest

from loopsight.runtime.records import Activity, Stall
from loopsight.runtime.registry import (
    BACKGROUND_FRAMES,
    REQUEST_FRAMES,
    Registry,
    mark_background_frame,
    mark_request_frame,
)


def _serving(request: dict[str, Any], began: float, job: str) -> FrameType:
    """A request frame whose scope and start are not called ``scope`` and ``start``."""
    scope, start = {"type": "http", "method": "POST", "path": "/wrong"}, 9.0  # decoys
    return _running(job, scope, start)


def _running(job: str, *_locals: object) -> FrameType:
    return sys._getframe()


@pytest.fixture
def marked() -> Iterator[None]:
    mark_request_frame(_serving, scope="request", start="began")
    mark_background_frame(_running, name="job")
    yield
    REQUEST_FRAMES.pop(_serving.__code__)
    BACKGROUND_FRAMES.pop(_running.__code__)


def test_request_and_background_task_are_read_from_the_declared_locals(marked: None) -> None:
    scope = {"type": "http", "method": "GET", "path": "/items/3"}
    frame = _serving(scope, 1.5, "app.send_mail")
    activity, live = Registry().find(None, frame)
    assert activity == Activity("background", method="GET", path="/items/3", name="app.send_mail")
    assert live is not None
    assert (live.start, live.scope) == (1.5, scope)


def test_marking_a_local_that_does_not_exist_fails_at_once() -> None:
    with pytest.raises(RuntimeError, match="_serving has no local 'scope_' to mark"):
        mark_request_frame(_serving, scope="scope_", start="began")
    assert _serving.__code__ not in REQUEST_FRAMES


def test_a_published_stall_cannot_be_changed() -> None:
    stall = Stall(0.0, 0.2, 0.0, Activity("unknown"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        stall.waited = 0.1  # type: ignore[misc]
