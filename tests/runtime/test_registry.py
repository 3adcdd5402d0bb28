"""Stall attribution finds requests and background tasks by their marks, not by local names."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Iterator
from types import FrameType
from typing import Any

import pytest

from loopsight.runtime.records import Activity, Stall
from loopsight.runtime.registry import (
    BACKGROUND_CODES,
    REQUEST_CODES,
    BackgroundMark,
    Registry,
    RequestMark,
)


def _serving(request: dict[str, Any], began: float, job: str) -> FrameType:
    """A request frame whose locals have names the registry has never heard of."""
    anything_at_all = RequestMark((request, began))
    scope, start = {"type": "http", "method": "POST", "path": "/wrong"}, 9.0  # decoys
    return _running(job, anything_at_all, scope, start)


def _running(job: str, *_locals: object) -> FrameType:
    _what = BackgroundMark((job,))
    return sys._getframe()


@pytest.fixture
def marked() -> Iterator[None]:
    REQUEST_CODES.add(_serving.__code__)
    BACKGROUND_CODES.add(_running.__code__)
    yield
    REQUEST_CODES.discard(_serving.__code__)
    BACKGROUND_CODES.discard(_running.__code__)


def test_request_and_background_task_are_found_by_their_marks(marked: None) -> None:
    scope = {"type": "http", "method": "GET", "path": "/items/3"}
    frame = _serving(scope, 1.5, "app.send_mail")
    activity, live = Registry().find(None, frame)
    assert activity == Activity("background", method="GET", path="/items/3", name="app.send_mail")
    assert live is not None
    assert (live.start, live.scope) == (1.5, scope)


def test_a_frame_without_a_mark_is_not_a_request(marked: None) -> None:
    def no_mark() -> tuple[FrameType, object, float]:
        scope, start = {"type": "http", "path": "/x"}, 1.0  # the old names, no mark
        return sys._getframe(), scope, start

    REQUEST_CODES.add(no_mark.__code__)
    try:
        activity, live = Registry().find(None, no_mark()[0])
    finally:
        REQUEST_CODES.discard(no_mark.__code__)
    assert (activity.kind, live) == ("callback", None)


def test_a_published_stall_cannot_be_changed() -> None:
    stall = Stall(0.0, 0.2, 0.0, Activity("unknown"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        stall.waited = 0.1  # type: ignore[misc]
