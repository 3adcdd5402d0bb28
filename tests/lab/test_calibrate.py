"""The calibration's arithmetic on synthetic costs (known answers), and its /proc readings on
this process."""

from __future__ import annotations

import os
import threading
import time

import pytest

from loopsight.lab._calibrate import (
    Costs,
    CpuReading,
    background_load,
    calibrated_model,
    calibrated_phases,
    place_of,
    read_cpu,
    resolved,
)
from loopsight.model import Cpu, Phase, cpu, gil, hold, loop, pool, wait


def _costs(
    loop_s: float = 0.0,
    threads_s: float = 0.0,
    children_s: float = 0.0,
    *,
    wall_s: float = 0.0,
    client_s: float = 0.0,
    upstream_s: float = 0.0,
    cores: int = 2,
    background: float = 0.0,
) -> Costs:
    server = CpuReading(loop_s, threads_s, children_s)
    return Costs(4, wall_s, server, client_s, upstream_s, cores, background)


@pytest.mark.parametrize(
    ("phase", "place"),
    [
        (loop(1.0), None),
        (loop(1.0, Cpu.GIL), "loop"),
        (loop(1.0, Cpu.CORE), "loop"),  # a sync driver's C code on the loop's thread
        (pool(1.0, Cpu.CORE), "threads"),
        (gil(1.0, "executor"), "threads"),
        (cpu(1.0), "threads"),  # aiosqlite's thread
        (cpu(1.0, "process"), "children"),
    ],
)
def test_place_of(phase: Phase, place: str | None) -> None:
    assert place_of(phase) == place


def test_place_of_children_holding_the_loop() -> None:
    # Pool().apply in async def: the loop waits while a child computes.
    assert place_of(loop(1.0, Cpu.CORE), children_hold="loop") == "children"


def test_declared_cpu_is_rescaled_to_what_was_measured() -> None:
    phases = calibrated_phases([loop(1.0, Cpu.GIL)], _costs(loop_s=0.8))
    assert phases == (cpu(0.0, "client"), loop(0.8, Cpu.GIL))
    split = calibrated_phases([pool(1.0, Cpu.CORE), pool(3.0, Cpu.CORE)], _costs(threads_s=2.0))
    assert [p.seconds for p in split[2:]] == pytest.approx([0.5, 1.5])  # after client, loop


def test_undeclared_cpu_becomes_phases_of_its_own() -> None:
    costs = _costs(0.1, 0.2, 0.3, client_s=0.05, upstream_s=0.4)
    phases = calibrated_phases([wait(1.0)], costs)
    assert phases == (
        cpu(0.05, "client"),
        gil(0.1),
        wait(1.0),
        gil(0.2, "wait"),
        cpu(0.3),
        cpu(0.4, "upstream"),
    )


def test_resolved_keeps_a_cost_clear_of_the_idle_spend() -> None:
    assert resolved(2.0, 1.0, 0.3) == 2.0
    assert resolved(0.5, 1.0, 0.3) == 0.3


def test_background_is_fitted_when_cpu_bound() -> None:
    # 0.5 s of Python on the loop took 1 s alone on 1 core: another busy thread shared it.
    costs = _costs(loop_s=0.5, wall_s=1.0, cores=1)
    model = calibrated_model([loop(1.0, Cpu.GIL)], [], costs, capacities={}, pool_size=40)
    assert model.background == pytest.approx(1.0, rel=1e-3)
    assert model.latency_c1() == pytest.approx(1.0, rel=1e-3)
    # Inline work is serial: 4 requests take 4 times as long, whatever the connections.
    assert model.predict(4, 4).total_s == pytest.approx(4.0, rel=1e-3)


def test_unexplained_time_waits_on_the_resource_named() -> None:
    # 0.1 s of work in a child, but a request took 0.3 s at c=1: 0.2 s of start-up, held on
    # the loop (Pool() per request), so 3 requests at once take 0.9 s, not 0.3 s.
    costs = _costs(children_s=0.1, wall_s=0.3, cores=4)
    model = calibrated_model(
        [loop(1.0, Cpu.CORE)],
        [],
        costs,
        capacities={},
        pool_size=40,
        children_hold="loop",
        residual_on="loop",
    )
    assert model.background == 0.0
    assert model.predict(3, 3).total_s == pytest.approx(0.9)
    free = calibrated_model(
        [hold("process", 1.0, Cpu.CORE)], [], costs, capacities={"process": 4}, pool_size=40
    )
    # In a worker process nothing holds the loop: the 0.3 s are read as 11 other busy
    # threads on the 4 cores (0.1 s of work at a third of a core); 3 at once get 4/14 each.
    assert free.background == pytest.approx(11.0, rel=1e-3)
    assert free.predict(3, 3).total_s == pytest.approx(0.35, rel=1e-3)


def test_costs_per_request_in_seed_units() -> None:
    seed = _costs(0.03, 0.06, wall_s=0.3, client_s=0.003).per_request(0.03)
    assert seed.server.loop_s == pytest.approx(1.0)
    assert seed.server.threads_s == pytest.approx(2.0)
    assert seed.wall_s == pytest.approx(10.0)
    assert seed.client_s == pytest.approx(0.1)


def _spin(seconds: float) -> None:
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def test_read_cpu_tells_the_main_thread_from_the_others() -> None:
    pid = os.getpid()
    before = read_cpu(pid)
    _spin(0.05)
    done = threading.Event()
    worker = threading.Thread(target=lambda: (_spin(0.05), done.wait()))
    worker.start()
    time.sleep(0.01)
    while worker.is_alive() and read_cpu(pid).threads_s - before.threads_s < 0.05:
        time.sleep(0.01)
    alive = read_cpu(pid) - before  # the thread is alive: its schedstat, in nanoseconds
    done.set()
    worker.join()
    assert alive.loop_s >= 0.045
    assert alive.threads_s == pytest.approx(0.05, abs=0.01)
    assert alive.children_s == 0.0
    # A thread that ends takes its schedstat along: the process's clock ticks still count it.
    before = read_cpu(pid)
    ended = threading.Thread(target=_spin, args=(0.2,))
    ended.start()
    ended.join()
    assert (read_cpu(pid) - before).threads_s >= 0.17


def test_read_cpu_of_a_missing_process_is_zero() -> None:
    assert read_cpu(2**22 + 12345) == CpuReading()


def test_background_load_is_not_negative() -> None:
    assert background_load(2, spin_s=0.01) >= 0.0
