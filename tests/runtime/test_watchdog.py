"""The watchdog with an injected clock and a fake loop, then on real asyncio and uvloop loops."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from loopsight.runtime.builder import Sample, build_stall
from loopsight.runtime.records import Activity, Culprit, Stall
from loopsight.runtime.registry import LiveActivity, Registry
from loopsight.runtime.stats import LAG_BUCKETS
from loopsight.runtime.watchdog import LoopWatch, Watchdog


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class FakeLoop:
    def __init__(self) -> None:
        self.timers: list[tuple[float, Any]] = []

    def call_later(self, delay: float, callback: Any) -> Any:
        self.timers.append((delay, callback))
        return None

    def is_running(self) -> bool:
        return True

    def is_closed(self) -> bool:
        return False


class ScriptedWatchdog(Watchdog):
    """Samples come from a script; once it is used up the loop resumes (beats) mid-sample."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.script: list[tuple[float, Activity, Culprit | None]] = []
        self.resume_at = 0.0

    def sample(self, watch: LoopWatch) -> Sample:
        clock = self.clock
        assert isinstance(clock, FakeClock)
        if not self.script:
            clock.now = self.resume_at
            watch.beat()  # this sample raced the resumption: the watchdog must drop it
            return Sample(clock.now, Activity("task", name="after"), "late", None)
        at, activity, culprit = self.script.pop(0)
        clock.now = at
        return Sample(at, activity, f"stack of {activity.kind}", culprit)


def _setup(threshold: float = 0.1) -> tuple[ScriptedWatchdog, LoopWatch, FakeClock, list[Stall]]:
    clock = FakeClock()
    published: list[Stall] = []
    wd = ScriptedWatchdog(Registry(), published.append, threshold=threshold, clock=clock)
    wd.sample_interval = 0.0
    watch = LoopWatch(wd, FakeLoop(), -1)  # type: ignore[arg-type]  # a thread not ours
    wd.watches[1] = watch
    wd.running = True
    watch.start()
    return wd, watch, clock, published


def test_beats_measure_lag_and_only_stalls_are_recorded() -> None:
    wd, watch, clock, _ = _setup()
    clock.now += 0.010  # on time
    watch.beat()
    clock.now += 0.010 + 0.030  # 30 ms late: lag, not a stall
    watch.beat()
    assert not watch.finished
    assert wd.lag_counts[LAG_BUCKETS.index(0.05)] == 1
    clock.now += 0.010 + 0.250  # 250 ms late: a stall
    watch.beat()
    assert list(watch.finished) == [(pytest.approx(100.06), pytest.approx(100.31))]
    assert wd.lag_sum == pytest.approx(0.28)
    assert watch.stalled_total == pytest.approx(0.25)


def test_stalled_until_counts_a_stall_in_progress() -> None:
    _, watch, clock, _ = _setup()
    clock.now += 0.010
    watch.beat()
    due = watch.next_due
    assert watch.stalled_until(due + 0.05) == 0.0  # under the threshold: not yet a stall
    assert watch.stalled_until(due + 0.15) == pytest.approx(0.15)


def test_poll_samples_until_the_loop_resumes_and_attributes_the_stall() -> None:
    wd, watch, clock, published = _setup()
    due = watch.next_due
    req = Activity("request", method="GET", route="/slow", path="/slow")
    other = Activity("task", name="ticker")
    line = Culprit("app.py", 7, "slow", "time.sleep(0.3)", "time.sleep")
    wd.script = [
        (due + 0.06, req, line),
        (due + 0.12, req, line),
        (due + 0.18, other, None),
        (due + 0.24, req, line),
    ]
    wd.resume_at = due + 0.30
    clock.now = due + 0.06  # overdue by half the threshold: the monitor starts sampling
    wd.poll()
    assert len(published) == 1
    stall = published[0]
    assert stall.activity == req
    assert stall.culprit == line
    assert stall.samples == 4
    assert stall.duration == pytest.approx(0.30)
    assert stall.stacks == {"stack of request": 3, "stack of task": 1}
    assert stall.seq == 1


def test_a_stall_the_monitor_did_not_sample_is_still_recorded() -> None:
    wd, watch, clock, published = _setup()
    clock.now = watch.next_due + 0.2
    watch.beat()  # the loop resumed before the monitor looked
    wd.poll()
    assert [s.activity.kind for s in published] == ["unknown"]
    assert published[0].culprit is None
    assert published[0].duration == pytest.approx(0.2)


def test_a_stall_spent_waiting_for_a_cpu_is_marked_starved() -> None:
    wd, watch, clock, published = _setup()
    waits = [1.0, 1.18]  # seconds of run-queue wait, as schedstat reports; then it stays

    def run_queue_wait() -> float:
        return waits.pop(0) if len(waits) > 1 else waits[0]

    watch.run_queue_wait = run_queue_wait  # type: ignore[method-assign]
    wd.poll()  # healthy: takes the baseline (1.0)
    clock.now = watch.next_due + 0.2
    watch.beat()
    wd.poll()  # 180 ms of the 200 ms stall were spent runnable without a CPU
    assert published[0].waited == pytest.approx(0.18)
    assert published[0].starved
    assert "starved: waited 180 ms for a CPU" in published[0].describe()
    clock.now = watch.next_due + 0.2
    watch.beat()
    wd.poll()  # this one waited 0 ms for a CPU: the loop was blocked
    assert not published[1].starved
    assert published[1].waited == pytest.approx(0.0)


def test_a_stall_before_routing_waits_for_the_route_template() -> None:
    wd, watch, clock, published = _setup()
    scope: dict[str, Any] = {"type": "http", "method": "GET", "path": "/items/3"}
    live = LiveActivity("request", scope, clock.now)
    snap = live.snapshot()
    due = watch.next_due
    wd.script = [(due + 0.06, snap, None)]
    wd.resume_at = due + 0.15
    clock.now = due + 0.06
    original = wd.sample

    def sample(w: LoopWatch) -> Sample:
        s = original(w)
        return Sample(s.at, s.activity, s.stack, s.culprit, live)

    wd.sample = sample  # type: ignore[method-assign]
    wd.poll()
    assert published == []  # the middleware stalled before the router ran

    class Route:
        path = "/items/{item_id:int}"
        path_format = "/items/{item_id}"

    scope["route"] = Route()
    wd.poll()
    assert [s.activity.route for s in published] == ["/items/{item_id}"]
    assert published[0].activity.path == "/items/3"


def test_build_stall_prefers_the_most_sampled_activity() -> None:
    a = Activity("request", method="GET", route="/a")
    b = Activity("background", name="job")
    ca = Culprit("a.py", 1, "f")
    cb = Culprit("b.py", 2, "g")
    samples = [Sample(0.1, b, "x", cb), Sample(0.2, a, "y", ca), Sample(0.3, b, "x", cb)]
    stall, live = build_stall(0.0, 0.4, 10.0, samples)
    assert (stall.activity, stall.culprit, stall.samples, live) == (b, cb, 3, None)


def _blocking_helper(seconds: float) -> None:
    time.sleep(seconds)  # BLOCK-HERE


@pytest.mark.parametrize("sampler", ["auto", "thread"])
@pytest.mark.parametrize("use_uvloop", [False, True], ids=["asyncio", "uvloop"])
def test_real_loop_stall_is_caught_with_its_task_and_line(use_uvloop: bool, sampler: str) -> None:
    from loopsight.runtime import Runtime

    rt = Runtime(threshold=0.03, sampler=sampler)
    seen: list[Stall] = []
    rt.add_listener(seen.append)

    async def blocker() -> None:
        await asyncio.sleep(0.05)
        _blocking_helper(0.12)
        await asyncio.sleep(0.05)

    async def main() -> None:
        watch = rt.attach(asyncio.get_running_loop())
        assert watch.signal_mode == (sampler == "auto")  # on the main thread, SIGALRM free
        await asyncio.create_task(blocker(), name="blocker-task")
        await asyncio.sleep(0.1)

    try:
        if use_uvloop:
            import uvloop

            uvloop.run(main())
        else:
            asyncio.run(main())
    finally:
        rt.close()
    assert len(seen) == 1, [s.describe() for s in seen]
    stall = seen[0]
    assert stall.activity.kind == "task"
    assert "blocker" in stall.activity.name
    assert stall.culprit is not None
    assert stall.culprit.function == "_blocking_helper"
    assert stall.culprit.call == "time.sleep(seconds)"
    assert stall.culprit.callee == "time.sleep"
    assert stall.culprit.file.endswith("test_watchdog.py")
    source = Path(__file__).read_text().splitlines()
    assert "BLOCK-HERE" in source[stall.culprit.line - 1]
    assert stall.duration >= 0.09
    assert stall.duration - stall.waited <= 0.2
    assert any("blocker" in stack for stack in stall.stacks)


def test_closing_from_the_loop_thread_during_a_stall_returns() -> None:
    from loopsight.runtime import Runtime

    rt = Runtime(threshold=0.02)

    async def main() -> None:
        rt.attach(asyncio.get_running_loop())
        await asyncio.sleep(0.02)
        time.sleep(0.05)  # the heartbeat is overdue while we close from the loop thread
        rt.close()

    started = time.monotonic()
    asyncio.run(main())
    assert time.monotonic() - started < 2.0
    assert not rt.watchdog.running


def test_a_stall_read_right_after_it_ends_is_published_first() -> None:
    from loopsight.runtime import Runtime

    rt = Runtime(threshold=0.03)
    counts: list[int] = []

    async def main() -> None:
        rt.attach(asyncio.get_running_loop())
        await asyncio.sleep(0.05)
        for _ in range(5):
            time.sleep(0.08)
            await asyncio.sleep(0)  # the beat closes the stall; the monitor may not have woken
            await rt.published()
            counts.append(len(rt.stalls))

    try:
        asyncio.run(main())
    finally:
        rt.close()
    assert counts == [1, 2, 3, 4, 5]


def test_a_stall_spent_in_a_full_garbage_collection_says_so() -> None:
    import gc

    from loopsight.runtime import Runtime

    rt = Runtime(threshold=0.03)
    seen: list[Stall] = []
    rt.add_listener(seen.append)
    heap = [[] for _ in range(3_000_000)]  # ~70 ms for a full collection to walk

    async def main() -> None:
        rt.attach(asyncio.get_running_loop())
        await asyncio.sleep(0.05)
        gc.collect()
        await asyncio.sleep(0.2)  # the monitor publishes the first stall before the second
        time.sleep(0.05)  # shorter than the collection, should the two be published together
        await asyncio.sleep(0.05)
        await rt.published()

    gc.disable()  # no automatic collection but ours
    try:
        asyncio.run(main())
    finally:
        gc.enable()
        rt.close()
        del heap
    assert len(seen) == 2, [s.describe() for s in seen]
    collected, slept = seen
    assert collected.gc_collections == 1
    assert "full garbage collection" in collected.describe()
    assert slept.gc_collections == 0
    assert Stall.from_json(collected.to_json()) == collected


def _alarm_state() -> tuple[Any, tuple[float, float]]:
    return signal.getsignal(signal.SIGALRM), signal.getitimer(signal.ITIMER_REAL)


def test_signal_mode_takes_sigalrm_only_while_running() -> None:
    from loopsight.runtime import Runtime

    before = _alarm_state()
    assert before == (signal.SIG_DFL, (0.0, 0.0))
    rt = Runtime(threshold=0.05)
    during: list[Any] = []

    async def main() -> None:
        assert rt.attach(asyncio.get_running_loop()).signal_mode
        await asyncio.sleep(0.03)
        during.append(_alarm_state())

    try:
        asyncio.run(main())
    finally:
        rt.close()
    handler, (remaining, _) = during[0]
    assert handler == rt.watchdog._on_alarm
    assert 0.0 < remaining <= rt.watchdog.interval + 0.025  # re-armed by every beat
    assert rt.watchdog._thread is None  # no monitor thread at all
    assert _alarm_state() == before


def test_a_sigalrm_handler_of_the_application_is_left_alone() -> None:
    from loopsight.runtime import Runtime

    def theirs(signum: int, frame: Any) -> None:
        raise AssertionError("the application's alarm must not fire")

    previous = signal.signal(signal.SIGALRM, theirs)
    rt = Runtime(threshold=0.03)
    seen: list[Stall] = []
    rt.add_listener(seen.append)

    async def main() -> None:
        assert not rt.attach(asyncio.get_running_loop()).signal_mode  # falls back to the thread
        await asyncio.sleep(0.05)
        _blocking_helper(0.1)
        await asyncio.sleep(0.05)
        await rt.published()

    try:
        asyncio.run(main())
        assert signal.getsignal(signal.SIGALRM) is theirs
    finally:
        rt.close()
        signal.signal(signal.SIGALRM, previous)
    assert [s.culprit.function for s in seen if s.culprit] == ["_blocking_helper"]


def test_a_busy_healthy_loop_never_gets_an_alarm(monkeypatch: pytest.MonkeyPatch) -> None:
    from loopsight.runtime import Runtime

    alarms: list[float] = []
    original = Watchdog._on_alarm

    def counting(self: Watchdog, signum: int, frame: Any) -> None:
        alarms.append(time.perf_counter())
        original(self, signum, frame)

    monkeypatch.setattr(Watchdog, "_on_alarm", counting)
    rt = Runtime(threshold=0.2)

    async def worker() -> None:
        deadline = time.perf_counter() + 0.4
        while time.perf_counter() < deadline:
            sum(range(2000))  # busy, but back at the loop every few microseconds
            await asyncio.sleep(0)

    async def main() -> None:
        rt.attach(asyncio.get_running_loop())
        await asyncio.gather(*(worker() for _ in range(20)))

    try:
        asyncio.run(main())
    finally:
        rt.close()
    assert alarms == []
    assert list(rt.stalls) == []
    assert rt.watchdog.lag_counts[-1] == 0
    assert sum(rt.watchdog.lag_counts) > 20  # it did beat


def test_a_blocking_read_interrupted_by_the_alarm_still_returns_its_data() -> None:
    """The alarm fires inside a blocking ``recv``: the read completes normally (SA_RESTART or
    Python's own retry) and the stall is attributed to the line that read."""
    import socket
    import threading

    from loopsight.runtime import Runtime

    rt = Runtime(threshold=0.03)
    seen: list[Stall] = []
    rt.add_listener(seen.append)
    ours, peer = socket.socketpair()
    got: list[bytes] = []

    async def main() -> None:
        assert rt.attach(asyncio.get_running_loop()).signal_mode
        await asyncio.sleep(0.05)
        threading.Timer(0.15, peer.sendall, args=(b"payload",)).start()
        got.append(ours.recv(100))  # BLOCKING-READ
        await asyncio.sleep(0.05)
        await rt.published()

    try:
        asyncio.run(main())
    finally:
        rt.close()
        ours.close()
        peer.close()
    assert got == [b"payload"]
    assert len(seen) == 1, [s.describe() for s in seen]
    culprit = seen[0].culprit
    assert culprit is not None
    source = Path(__file__).read_text().splitlines()
    assert "BLOCKING-READ" in source[culprit.line - 1]
    assert seen[0].duration >= 0.12


def test_an_exiting_process_is_not_left_with_an_armed_alarm(tmp_path: Path) -> None:
    """Finalization resets SIGALRM to its default action (terminate); a timer armed by the
    last beat must be disarmed before that."""
    import subprocess
    import sys

    script = tmp_path / "exits.py"
    script.write_text(
        "import atexit, asyncio, signal\n"
        "atexit.register(lambda: print(signal.getitimer(signal.ITIMER_REAL)))  # runs last\n"
        "from loopsight.runtime import Runtime\n"
        "rt = Runtime(threshold=2.0)\n"
        "async def main():\n"
        "    assert rt.attach(asyncio.get_running_loop()).signal_mode\n"
        "    await asyncio.sleep(0.05)\n"
        "asyncio.run(main())\n"
        "print(signal.getitimer(signal.ITIMER_REAL)[0] > 0)  # still armed after the loop\n"
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["True", "(0.0, 0.0)"]
