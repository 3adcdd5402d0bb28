"""The stall watchdog: a heartbeat on each event loop, and a sampler that looks at a stalled loop.

The heartbeat is a timer callback that records when it ran and how late it was (loop lag).
The heartbeat itself decides whether the delay was a stall (lag >= threshold), so every stall
is recorded even if no sample of it was taken.

Samples are taken one of two ways:

- **signal** (a loop on the main thread, where ``SIGALRM`` is free): each beat re-arms a
  one-shot ``ITIMER_REAL`` timer for when the next beat would be overdue by half the threshold.
  A healthy loop never lets it fire. A stalled one does: the handler runs on the loop's own
  thread, in the middle of the blocking code, reads the stack from the frame it is given and
  re-arms itself every ``sample_interval``. Nothing else runs in the process, so a busy loop
  pays one ``setitimer`` per beat and nothing per request.
- **thread** (a loop on another thread): a monitor thread wakes every few milliseconds, compares
  one timestamp and samples the loop thread's stack while the heartbeat is overdue. Each wake-up
  has to take the GIL from the loop; a loop that releases the GIL thousands of times a second
  (once per ``epoll``) wakes the waiting thread each time and pays for it on every request.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import gc
import os
import signal
import threading
import time
from bisect import bisect_left
from collections import deque
from collections.abc import Callable
from types import FrameType
from typing import Any

from loopsight.runtime.builder import Sample, SpanLink, StallBuilder, StallSink
from loopsight.runtime.frames import current_frame_of, read_stack
from loopsight.runtime.registry import LiveActivity, Registry, current_task_of
from loopsight.runtime.stats import LAG_BUCKETS

__all__ = ["SAMPLERS", "Clock", "LoopWatch", "Watchdog"]

Clock = Callable[[], float]

_MAX_SAMPLES = 500
_ALARM = getattr(signal, "SIGALRM", None)
# "auto": a SIGALRM timer for a loop on the main thread when the signal is free, else a thread.
SAMPLERS = ("auto", "thread")


def _full_collections() -> int:
    """How many collections of the oldest generation the interpreter has run (any thread)."""
    return int(gc.get_stats()[-1]["collections"])


def _disarm_at_exit() -> None:
    """A timer armed by the last beat must not fire once finalization has reset SIGALRM to
    its default action, which would kill an exiting process."""
    with contextlib.suppress(ValueError, OSError):
        signal.setitimer(signal.ITIMER_REAL, 0.0)


class LoopWatch:
    """The heartbeat of one event loop; all mutation happens on that loop's thread.

    What others may use: ``loop`` and ``thread_id`` (which loop, on which thread),
    :meth:`stalled_until` and ``queued``; the rest is the watchdog's.
    """

    def __init__(self, watchdog: Watchdog, loop: asyncio.AbstractEventLoop, thread_id: int) -> None:
        self.watchdog = watchdog
        self.loop = loop
        self.thread_id = thread_id
        now = watchdog.clock()
        self.seq = 0
        self.next_due = now
        self.stalled_total = 0.0
        self.window_max_lag = 0.0
        # Seconds of the stall the last beat closed, until the next beat: a request that starts
        # meanwhile arrived during that stall, most likely, and waited in the socket.
        self.queued = 0.0
        # (start, end) of stalls the heartbeat saw end, for the monitor thread to pick up.
        self.finished: deque[tuple[float, float]] = deque(maxlen=1024)
        self._handle: asyncio.TimerHandle | None = None
        # Signal mode: the beat re-arms the alarm and publishes; the handler fills ``samples``.
        self.signal_mode = False
        self.samples: list[Sample] = []
        # Run-queue wait of the loop thread (Linux schedstat), read by the monitor thread only.
        self.native_id = threading.get_native_id()
        self._sched_fd: int | None = None
        self.baseline_wait: float | None = None
        # Full collections so far, read by the monitor thread while the loop is healthy.
        self.baseline_gc = _full_collections()

    def take_baselines(self) -> None:
        """Note the run-queue wait and full collections so far: call while the loop is healthy,
        so that a stall's share of each is what grew since."""
        self.baseline_wait = self.run_queue_wait()
        self.baseline_gc = _full_collections()

    def run_queue_wait(self) -> float | None:
        """Seconds the loop thread has spent runnable but waiting for a CPU (Linux only)."""
        try:
            if self._sched_fd is None:
                path = f"/proc/self/task/{self.native_id}/schedstat"
                self._sched_fd = os.open(path, os.O_RDONLY)
            return int(os.pread(self._sched_fd, 128, 0).split()[1]) / 1e9
        except (OSError, ValueError, IndexError):
            return None

    def close_sched(self) -> None:
        """Release the schedstat file descriptor."""
        if self._sched_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._sched_fd)
            self._sched_fd = None

    def start(self) -> None:
        """Schedule the first beat; call on the loop's thread."""
        self.next_due = self.watchdog.clock() + self.watchdog.interval
        self._handle = self.loop.call_later(self.watchdog.interval, self.beat)

    def stop(self) -> None:
        """Cancel the next beat (loop thread only)."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def beat(self) -> None:
        """Record this beat's lag, close a stall if it was one, schedule the next beat."""
        wd = self.watchdog
        now = wd.clock()
        lag = now - self.next_due
        if lag < 0.0:
            lag = 0.0
        wd.lag_counts[bisect_left(LAG_BUCKETS, lag)] += 1
        wd.lag_sum += lag
        if lag > self.window_max_lag:
            self.window_max_lag = lag
        if lag >= wd.threshold:
            self.stalled_total += lag
            self.finished.append((self.next_due, now))
            self.queued = lag
        else:
            self.queued = 0.0
        interval = wd.interval
        self.next_due = now + interval
        self.seq += 1
        if wd.running:
            self._handle = self.loop.call_later(interval, self.beat)
            if self.signal_mode:
                wd.after_beat(self, now)

    def stalled_until(self, now: float) -> float:
        """Cumulative stalled seconds up to ``now``, counting a stall still in progress.

        LoopsightMiddleware's timing header inlines this: change both together."""
        overdue = now - self.next_due
        return self.stalled_total + (overdue if overdue >= self.watchdog.threshold else 0.0)

    def take_window_lag(self) -> float:
        """The worst lag since the last call (a lost update only loses one window's maximum)."""
        lag, self.window_max_lag = self.window_max_lag, 0.0
        return lag


class Watchdog:
    """Watches every loop it is attached to, and hands each stall to ``on_stall`` once, built.

    The one way out is ``on_stall`` (through a :class:`StallBuilder`) and ``on_tick``, about
    every ``tick_interval`` seconds; the watchdog never calls back into its owner otherwise.
    """

    def __init__(
        self,
        registry: Registry,
        on_stall: StallSink,
        *,
        threshold: float = 0.1,
        sample_interval: float = 0.005,
        clock: Clock = time.perf_counter,
        on_tick: Callable[[list[LoopWatch]], None] | None = None,
        tick_interval: float = 0.1,
        sampler: str = "auto",
    ) -> None:
        if sampler not in SAMPLERS:
            raise ValueError(f"sampler must be one of {', '.join(SAMPLERS)}, not {sampler!r}")
        self.registry = registry
        self.builder = StallBuilder(on_stall, clock)
        self.threshold = threshold
        self.sample_interval = sample_interval
        self.clock = clock
        self.on_tick = on_tick
        self.tick_interval = tick_interval
        self.sampler = sampler
        self.watches: dict[int, LoopWatch] = {}
        # Loop-lag histogram over every beat of every loop: ``le`` buckets, +Inf, and the sum.
        self.lag_counts = [0] * (len(LAG_BUCKETS) + 1)
        self.lag_sum = 0.0
        self.running = False
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._next_tick = 0.0
        # Offset that turns the watchdog clock into Unix time, for wall-clock exports.
        self.wall_offset = time.time() - clock()
        self._signal_watch: LoopWatch | None = None
        self._previous_alarm: Any = None
        # Reads the tracing span active in a stalled task, at sample time only (OpenTelemetry).
        self.read_link: (
            Callable[[asyncio.Task[Any] | None, LiveActivity | None], SpanLink | None] | None
        ) = None

    @property
    def interval(self) -> float:
        """Heartbeat period: a quarter of the threshold, at most 10 ms."""
        return min(0.01, self.threshold / 4)

    @property
    def poll_interval(self) -> float:
        """Monitor wake-up period: a quarter of the threshold, at most 25 ms.

        Each wake-up takes the GIL from the loop once; sampling starts at half the threshold,
        so a quarter still catches every stall.
        """
        return min(0.025, self.threshold / 4)

    @property
    def stall_count(self) -> int:
        """Stalls detected so far (published, or waiting for their route)."""
        return self.builder.count

    def wall(self, t: float) -> float:
        """Unix time of watchdog-clock instant ``t``."""
        return t + self.wall_offset

    # -- loop side -------------------------------------------------------------------------
    def attach(self, loop: asyncio.AbstractEventLoop) -> LoopWatch:
        """Start a heartbeat on ``loop`` (call from the loop's thread) and the monitor thread."""
        with self._lock:
            watch = self.watches.get(id(loop))
            if watch is not None and watch.loop is loop:
                return watch
            for key, other in list(self.watches.items()):
                if other.loop.is_closed():
                    self.watches.pop(key, None)
                    other.close_sched()
            watch = LoopWatch(self, loop, threading.get_ident())
            self.watches[id(loop)] = watch
            self.running = True
            if self._take_alarm():
                watch.signal_mode = True
                self._signal_watch = watch
            watch.start()
            if watch.signal_mode:
                self._arm_for_next_beat()
            elif self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(
                    target=self._run, name="loopsight-watchdog", daemon=True
                )
                self._thread.start()
        return watch

    # -- signal mode -----------------------------------------------------------------------
    def _take_alarm(self) -> bool:
        """Install the SIGALRM handler if this thread may and nobody else uses the signal."""
        if self.sampler == "thread" or _ALARM is None or not hasattr(signal, "setitimer"):
            return False
        if threading.current_thread() is not threading.main_thread():
            return False  # only the main thread runs Python signal handlers
        try:
            current = signal.getsignal(_ALARM)
            if current == self._on_alarm:
                return True
            owner = getattr(current, "__self__", None)
            ours = isinstance(owner, Watchdog) and not owner.running  # a closed runtime's
            if current not in (signal.SIG_DFL, None) and not ours:
                return False  # the application's (or a test timeout's): leave it alone
            if not ours and signal.getitimer(signal.ITIMER_REAL) != (0.0, 0.0):
                return False
            signal.signal(_ALARM, self._on_alarm)
            # Restart interrupted system calls (reads, writes) in C extensions; sleeps and
            # polls still return early, and Python resumes them after the handler.
            signal.siginterrupt(_ALARM, False)
        except (ValueError, OSError):
            return False
        self._previous_alarm = signal.SIG_DFL if ours else current
        atexit.unregister(_disarm_at_exit)  # once, however many runtimes came and went
        atexit.register(_disarm_at_exit)
        return True

    def _release_alarm(self) -> None:
        self._signal_watch = None
        if _ALARM is None:
            return
        with contextlib.suppress(ValueError, OSError):
            if signal.getsignal(_ALARM) == self._on_alarm:
                signal.setitimer(signal.ITIMER_REAL, 0.0)
                # Only the main thread may restore it; elsewhere the handler stays, inert.
                signal.signal(_ALARM, self._previous_alarm or signal.SIG_DFL)

    @staticmethod
    def _arm(delay: float) -> None:
        signal.setitimer(signal.ITIMER_REAL, delay)

    def _arm_for_next_beat(self) -> None:
        """Fire when the next beat, due in one interval, is overdue by half the threshold."""
        self._arm(self.interval + self.threshold / 2)

    def _sample_delay(self, taken: int) -> float:
        """Pause before the next sample: back off on long stalls, since sampling takes the
        GIL from (or interrupts) the code being sampled."""
        return min(0.05, self.sample_interval * (1 + taken // 50))

    def after_beat(self, watch: LoopWatch, now: float) -> None:
        """Signal mode, on the loop thread after each beat: re-arm the alarm, publish the
        stall the beat closed, take the healthy baselines, and run the periodic tick."""
        try:
            self._arm_for_next_beat()
            if watch.finished:
                samples, watch.samples = watch.samples, []
                self._publish_finished(watch, samples)
            else:
                watch.samples.clear()  # taken while overdue, but under the threshold
                watch.take_baselines()
            if self._thread is None:  # else the monitor thread runs the tick
                self._tick(now)
        except Exception:  # the heartbeat must go on; one lost tick or stall at worst
            return

    def _on_alarm(self, signum: int, frame: FrameType | None) -> None:
        """SIGALRM: the beat is overdue by half the threshold; sample the stalled code."""
        watch = self._signal_watch
        try:
            if watch is None or not self.running or frame is None:
                return
            now = self.clock()
            if now - watch.next_due < self.threshold / 2 or not watch.loop.is_running():
                return  # a beat ran meanwhile, or the loop stopped: nothing is stalled
            samples = watch.samples
            if len(samples) < _MAX_SAMPLES:
                task = current_task_of(watch.loop)
                activity, live = self.registry.find(task, frame)
                stack, culprit = read_stack(frame)
                link = self.read_link(task, live) if self.read_link is not None else None
                samples.append(Sample(now, activity, stack, culprit, live, link))
            self._arm(self._sample_delay(len(samples)))
        except Exception:  # a signal handler must never raise into the code it interrupted
            return

    def close(self) -> None:
        """Stop the monitor thread and the alarm; heartbeats stop at their next beat."""
        self.running = False
        self._release_alarm()
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=2.0)
        self._thread = None
        self.poll(sample=False)  # publish what already finished; may run on the loop thread
        with self._lock:
            self.watches.clear()

    def pending(self) -> bool:
        """True while a stall is not yet published: one that ended (or, seen from the loop it
        held, whose closing beat has not run yet). Any thread may ask.

        A beat closes a stall when the loop resumes and the monitor thread publishes it at its
        next wake-up (a stall before routing once its route is known), so a reader that asks
        right after the stall may briefly find it missing.
        """
        if self.builder.holding():
            return True
        now = self.clock()
        return any(
            w.finished or now - w.next_due >= self.threshold for w in list(self.watches.values())
        )

    # -- monitor side ----------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.wait(self.poll_interval):
            try:
                self.poll()
            except Exception:  # the watchdog must never die; a bad sample loses one stall
                continue

    def poll(self, *, sample: bool = True) -> None:
        """One monitor step: check each loop, sample a stalled one, publish finished stalls."""
        now = self.clock()
        for key, watch in list(self.watches.items()):
            loop = watch.loop
            if loop.is_closed():
                self.watches.pop(key, None)
                self._publish_finished(watch, watch.samples)
                watch.close_sched()
                continue
            if watch.signal_mode and sample:
                continue  # its own beats sample and publish
            overdue = now - watch.next_due >= self.threshold / 2
            # Never sample from the loop's own thread: the loop could not resume meanwhile.
            if (
                sample
                and overdue
                and loop.is_running()
                and watch.thread_id != threading.get_ident()
            ):
                self._publish_finished(watch, self._sample_until_resumed(watch))
            else:
                self._publish_finished(watch, watch.samples)  # empty unless signal mode
                watch.take_baselines()
        self._tick(now)

    def _tick(self, now: float) -> None:
        self.builder.release(now)
        if self.on_tick is not None and now >= self._next_tick:
            self._next_tick = now + self.tick_interval
            self.on_tick(list(self.watches.values()))

    def sample(self, watch: LoopWatch) -> Sample:
        """Read the loop thread's stack and the task it is running, right now."""
        task = current_task_of(watch.loop)
        frame = current_frame_of(watch.thread_id)
        activity, live = self.registry.find(task, frame)
        stack, culprit = read_stack(frame)
        link = self.read_link(task, live) if self.read_link is not None else None
        return Sample(self.clock(), activity, stack, culprit, live, link)

    def _sample_until_resumed(self, watch: LoopWatch) -> list[Sample]:
        seq = watch.seq
        samples: list[Sample] = []
        while watch.seq == seq and watch.loop.is_running() and not self._stop.is_set():
            sample = self.sample(watch)
            if watch.seq != seq:
                break  # the loop resumed while we looked: this sample is not of the stall
            if len(samples) < _MAX_SAMPLES:
                samples.append(sample)
            time.sleep(self._sample_delay(len(samples)))
        return samples

    def _publish_finished(self, watch: LoopWatch, samples: list[Sample]) -> None:
        """Hand each stall the heartbeat closed to the builder, with its share of the
        run-queue wait and of the full collections since the last healthy poll."""
        if not watch.finished:
            return
        waited = 0.0
        before, after = watch.baseline_wait, watch.run_queue_wait()
        if before is not None and after is not None:
            waited = max(0.0, after - before)
        collections = _full_collections()
        intervals: list[tuple[float, float]] = []
        while watch.finished:
            intervals.append(watch.finished.popleft())
        # A full collection holds the GIL throughout, so no sample shows it: count the ones
        # since the last healthy poll (a quarter threshold before the stall at most) and
        # charge them to the longest stall.
        longest = max(range(len(intervals)), key=lambda i: intervals[i][1] - intervals[i][0])
        for index, (start, end) in enumerate(intervals):
            mine = [s for s in samples if start <= s.at <= end + self.sample_interval]
            share = min(waited, end - start)
            waited -= share
            full = max(0, collections - watch.baseline_gc) if index == longest else 0
            self.builder.add(start, end, self.wall(start), mine, waited=share, gc_collections=full)
        watch.baseline_wait = after
        watch.baseline_gc = collections
