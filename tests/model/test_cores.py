"""CPU phases on the machine's cores and the GIL: synthetic requests with answers by hand."""

from __future__ import annotations

import pytest

from loopsight.errors import LoopsightError
from loopsight.model import Cpu, cpu, gil, hold, loop, pool, predict, wait


def test_core_work_shares_the_cores_fairly() -> None:
    # 4 requests of 1 core-second on 2 cores, all at once: each runs at half speed.
    prediction = predict([cpu(1.0)], n=4, c=4, cores=2)
    assert prediction.total_s == pytest.approx(2.0)
    assert sorted(prediction.latencies) == pytest.approx([2.0] * 4)
    assert prediction.core_share == pytest.approx(1.0)


def test_fewer_jobs_than_cores_run_at_full_speed() -> None:
    assert predict([cpu(1.0)], n=2, c=2, cores=4).total_s == pytest.approx(1.0)
    assert predict([cpu(1.0)], n=3, c=3, cores=1).total_s == pytest.approx(3.0)


def test_gil_work_uses_one_core_whatever_the_cores() -> None:
    # Python work in 4 threads of one process: the GIL lets one run at a time.
    prediction = predict([gil(1.0, "pool")], n=4, c=4, cores=2)
    assert prediction.total_s == pytest.approx(4.0)


def test_a_core_the_gil_leaves_idle_goes_to_the_others() -> None:
    # One GIL job and one job outside it on 2 cores: both at full speed.
    prediction = predict([gil(1.0, "pool"), cpu(1.0)], n=1, c=1, cores=2)
    assert prediction.total_s == pytest.approx(2.0)


def test_loop_starves_when_threads_take_the_cores() -> None:
    # 3 requests wait 0 s then compute 1 s outside the GIL; 1 core. The loop's own 0.5 s of
    # Python work per request shares that core with them.
    prediction = predict([cpu(1.0)], n=1, c=1, cores=1, loop_cost_s=0.5)
    assert prediction.total_s == pytest.approx(1.5)
    # Two requests at once on 1 core: 2 x 0.5 s loop + 2 x 1 s work = 3 s of one core.
    both = predict([cpu(1.0)], n=2, c=2, cores=1, loop_cost_s=0.5)
    assert both.total_s == pytest.approx(3.0)


def test_cpu_on_the_loop_is_serial_and_slowed_by_other_work() -> None:
    # Inline CPU work holds the loop: serial, 1 s each, whatever the cores.
    assert predict([loop(1.0, Cpu.GIL)], n=3, c=3, cores=2).total_s == pytest.approx(3.0)
    # The same beside a worker process computing 1 s per request on a single core: the
    # loop's work and the process's share it, 2 s of CPU per request.
    shared = predict([loop(1.0, Cpu.GIL), cpu(1.0)], n=3, c=3, cores=1)
    assert shared.total_s == pytest.approx(6.0)


def test_process_pool_workers_are_a_resource_with_cpu_work() -> None:
    # 2 worker processes on 4 cores: the workers bound it, 2 at a time.
    prediction = predict([cpu(1.0, "process")], n=4, c=4, cores=4, capacities={"process": 2})
    assert prediction.total_s == pytest.approx(2.0)
    # 4 workers on 2 cores: the cores bound it.
    bound = predict([cpu(1.0, "process")], n=4, c=4, cores=2, capacities={"process": 4})
    assert bound.total_s == pytest.approx(2.0)


def test_the_seeds_cases_are_unchanged_by_cores() -> None:
    # Sleeping phases take no core: the seed's figures stand with any number of cores.
    for cores in (1, 2, 8):
        assert predict([pool(6.0)], n=200, c=100, open_mode="ab", cores=cores).total_s == (
            pytest.approx(36.0)
        )
        assert predict(
            [pool(3.0), wait(3.0)], n=200, c=100, open_mode="ab", cores=cores
        ).total_s == pytest.approx(24.0)


def test_loop_busy_counts_the_hold_as_it_lasted() -> None:
    # The loop computes 1 s per request while a C job takes the only other share of 1 core.
    prediction = predict(
        [hold("db", 0.0), loop(1.0, Cpu.GIL)], n=1, c=1, cores=1, capacities={"db": 1}
    )
    assert prediction.loop_busy_s == pytest.approx(1.0)
    contended = predict([cpu(2.0), wait(0.0)], n=1, c=1, cores=1, loop_cost_s=1.0)
    assert contended.loop_busy_s == pytest.approx(1.0)


def test_cpu_work_needs_cores() -> None:
    with pytest.raises(LoopsightError, match="no cores were given"):
        predict([cpu(1.0)], n=1, c=1)
    with pytest.raises(LoopsightError, match="cores must be at least 1"):
        predict([cpu(1.0)], n=1, c=1, cores=0)


def test_background_load_takes_its_share_of_the_cores() -> None:
    # One other busy thread on 1 core: a 1 s computation takes 2 s.
    assert predict([cpu(1.0)], n=1, c=1, cores=1, background=1.0).total_s == pytest.approx(2.0)
    # On 2 cores it leaves one free: no slower.
    assert predict([cpu(1.0)], n=1, c=1, cores=2, background=1.0).total_s == pytest.approx(1.0)
    # Sleeping is not slowed by it.
    assert predict([wait(1.0)], n=1, c=1, cores=1, background=3.0).total_s == pytest.approx(1.0)


def test_background_task_holds_the_loop_after_the_answer() -> None:
    # Starlette runs a task right after sending, in the same step: request 1 is answered at
    # 0 s and its task holds the loop until 1 s, so request 2 is answered at 1 s, request 3
    # at 2 s. Each connection's next request is read once the loop is free of its task
    # (1, 2, 3 s) and waits 2 s behind the tasks before it: answered at 3, 4, 5 s.
    prediction = predict([], n=6, c=3, after=[loop(1.0)])
    assert prediction.latencies == pytest.approx([0.0, 1.0, 2.0, 2.0, 2.0, 2.0])
    assert prediction.total_s == pytest.approx(5.0)
    assert prediction.loop_busy_s == pytest.approx(6.0)
    # Under ab's load every request waits for the tasks before it: n seconds for n requests.
    assert predict([], n=200, c=100, open_mode="ab", after=[loop(1.0)]).total_s == (
        pytest.approx(199.0)
    )


def test_background_wait_delays_nothing() -> None:
    # A task that waits 1 s (asyncio.sleep) holds nothing, and the connection's next request
    # is read once the response is complete: 6 requests over 3 connections take no time.
    prediction = predict([], n=6, c=3, after=[wait(1.0)])
    assert prediction.total_s == pytest.approx(0.0)
    assert prediction.loop_busy_s == 0.0


def test_background_work_is_checked_like_the_phases() -> None:
    with pytest.raises(LoopsightError, match="no capacity given"):
        predict([], n=1, c=1, after=[hold("db", 1.0)])


def test_threads_waiting_for_the_gil_are_one_runnable_thread() -> None:
    # 4 GIL jobs beside 1 other busy thread on 1 core: the GIL holder gets half the core
    # (the 3 waiting sleep on the GIL), so the 4 s of work take 8 s.
    prediction = predict([gil(1.0, "pool")], n=4, c=4, cores=1, background=1.0)
    assert prediction.total_s == pytest.approx(8.0)


def test_a_limit_caps_the_cores_all_the_work_gets() -> None:
    # 4 jobs of 1 core-second on 4 cores, but the machine lends this group 2 cores: 2 s.
    assert predict([cpu(1.0)], n=4, c=4, cores=4, limit=2.0).total_s == pytest.approx(2.0)
    # Below the limit, nothing changes.
    assert predict([cpu(1.0)], n=1, c=1, cores=4, limit=2.0).total_s == pytest.approx(1.0)
    with pytest.raises(LoopsightError, match="limit must be a positive"):
        predict([cpu(1.0)], n=1, c=1, cores=1, limit=0.0)
