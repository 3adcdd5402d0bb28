from __future__ import annotations

import asyncio
import time

import pytest

from loopsight.lab._heartbeat import Heartbeat


def test_late_wakeups_count_as_blocked() -> None:
    heartbeat = Heartbeat(interval=0.005, threshold=0.010)
    heartbeat.beat(0.006)  # 1 ms late: normal jitter
    assert heartbeat.blocked_s == 0.0
    heartbeat.beat(0.505)  # 500 ms late: the loop was blocked
    assert heartbeat.blocked_s == pytest.approx(0.5)
    assert heartbeat.stalls == 1
    assert heartbeat.beats == 2


def test_heartbeat_sees_a_real_blocking_call() -> None:
    async def scenario() -> Heartbeat:
        heartbeat = Heartbeat()
        task = asyncio.create_task(heartbeat.run())
        await asyncio.sleep(0.05)
        time.sleep(0.2)  # block the loop
        await asyncio.sleep(0.05)
        task.cancel()
        return heartbeat

    heartbeat = asyncio.run(scenario())
    assert 0.15 <= heartbeat.blocked_s <= 0.4
    assert heartbeat.stalls >= 1
