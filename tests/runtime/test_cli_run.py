"""``loopsight run module:app``: serves, prints each stall as it happens, summarises at exit."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from loopsight.server import free_port

from ._helpers import get_json, line_of, write_module

APP = """
import time

from fastapi import FastAPI

app = FastAPI()


@app.get("/slow/{n}")
async def slow(n: int):
    time.sleep(0.1)  # RUN-STALL
    return {"n": n}


@app.get("/fast")
async def fast():
    return {}


@app.get("/spin")
async def spin():
    end = time.perf_counter() + 0.1
    while time.perf_counter() < end:  # RUN-SPIN
        pass
    return {}
"""


def _loopsight(*args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "loopsight", "run", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _stop(proc: subprocess.Popen[str]) -> tuple[str, str]:
    """SIGTERM, as a process manager stops a server; its output once it has exited."""
    proc.send_signal(signal.SIGTERM)
    return proc.communicate(timeout=30)


def _kill(proc: subprocess.Popen[str]) -> None:
    """Kill ``proc`` if a failed assertion left it running."""
    if proc.poll() is None:
        proc.kill()
        proc.communicate()


def _wait_ready(url: str, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.05)
    raise AssertionError("loopsight run did not start")


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_run_prints_stalls_and_a_summary(tmp_path: Path, workers: int) -> None:
    path = write_module(tmp_path, "served_app", APP)
    port = free_port()
    extra = ["--workers", str(workers)] if workers > 1 else []
    proc = _loopsight(
        "served_app:app", "--threshold-ms", "40", "--timing-headers", "--port", str(port),
        "--no-access-log", "--log-level", "warning", *extra, cwd=tmp_path,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_ready(f"{base}/fast", proc)
        for n in range(3):
            with urllib.request.urlopen(f"{base}/slow/{n}", timeout=10) as response:
                assert response.headers["x-process-time"]
        time.sleep(0.3)
        out, err = _stop(proc)
    finally:
        _kill(proc)
    assert proc.returncode == 0, err
    line = line_of(path, "RUN-STALL")
    printed = [x for x in err.splitlines() if "loop stalled" in x and "/slow/{n}" in x]
    assert len(printed) == 3, err
    assert all(f"served_app.py:{line} in slow: time.sleep(0.1)" in x for x in printed)
    table = [x for x in out.splitlines() if "/slow/{n}" in x]
    assert len(table) == 1, out
    cells = [c.strip() for c in table[0].split("│") if c.strip()]
    assert cells[:3] == ["/slow/{n}", "GET", "3"]
    assert cells[3] == "0"  # 5xx
    assert cells[6] == "3"  # stalls
    assert cells[8] == f"served_app.py:{line}"


def test_run_rejects_bad_targets_in_one_line(tmp_path: Path) -> None:
    write_module(tmp_path, "served_app", APP)
    for args, message in [
        (["nocolon"], "target must look like module:app"),
        (["missing_module:app"], "cannot import 'missing_module'"),
        (["served_app:nope"], "has no attribute 'nope'"),
        (["served_app:app", "--endpoints", "metrics"], "--endpoints needs --token"),
    ]:
        proc = _loopsight(*args, cwd=tmp_path)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 2, (args, err)
        assert err.startswith("loopsight: error: ")
        assert message in err
        assert len(err.strip().splitlines()) == 1


@pytest.mark.slow
def test_two_workers_one_scrape_counts_a_stall_once(tmp_path: Path) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    write_module(tmp_path, "served_app", APP)
    port = free_port()
    proc = _loopsight(
        "served_app:app", "--workers", "2", "--threshold-ms", "40", "--endpoints", "metrics",
        "--token", "t", "--port", str(port), "--no-access-log", "--log-level", "warning",
        cwd=tmp_path,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"

    def stalls_on_slow() -> float:
        request = urllib.request.Request(
            f"{base}/_loopsight/metrics", headers={"Authorization": "Bearer t"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            text = response.read().decode()
        return sum(
            sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == "loopsight_stalls_total" and sample.labels["route"] == "/slow/{n}"
        )

    try:
        _wait_ready(f"{base}/fast", proc)
        with urllib.request.urlopen(f"{base}/slow/1", timeout=10):
            pass
        # Whichever worker answers the scrape, it reads the other's file (written each second).
        deadline, seen = time.monotonic() + 10, 0.0
        while time.monotonic() < deadline and seen < 1:
            seen = stalls_on_slow()
            time.sleep(0.2)
        assert seen == 1
        time.sleep(1.5)  # both workers have written again: still one stall, not two
        assert [stalls_on_slow() for _ in range(4)] == [1, 1, 1, 1]
        out, err = _stop(proc)
    finally:
        _kill(proc)
    assert proc.returncode == 0, err
    printed = [x for x in err.splitlines() if "loop stalled" in x and "/slow/{n}" in x]
    assert len(printed) == 1, err
    assert printed[0].startswith("loopsight [")  # the worker's pid
    table = [x for x in out.splitlines() if "/slow/{n}" in x]
    cells = [c.strip() for c in table[0].split("│") if c.strip()]
    assert cells[:3] == ["/slow/{n}", "GET", "1"]
    assert cells[6] == "1"  # stalls, merged from both workers' summaries


def test_run_rejects_bad_workers_and_metrics_dir(tmp_path: Path) -> None:
    import os

    write_module(tmp_path, "served_app", APP)
    proc = _loopsight("served_app:app", "--workers", "0", cwd=tmp_path)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 2, err
    assert err.strip() == "loopsight: error: --workers must be at least 1, got 0"

    missing = tmp_path / "no-such-dir"
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(missing)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "loopsight", "run", "served_app:app", "--workers", "2"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 2, err
    assert len(err.strip().splitlines()) == 1, err
    assert f"PROMETHEUS_MULTIPROC_DIR={missing} is not a writable directory" in err


@pytest.mark.slow
def test_each_stall_is_joined_to_its_check_finding(tmp_path: Path) -> None:
    path = write_module(tmp_path, "served_app", APP)
    port = free_port()
    proc = _loopsight(
        "served_app:app", "--threshold-ms", "40", "--endpoints", "stalls", "--token", "t",
        "--port", str(port), "--no-access-log", "--log-level", "warning", cwd=tmp_path,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(f"{base}/fast", proc)
        # Check runs beside the server: serving starts before its findings are in.
        deadline, joined = time.monotonic() + 30, {}
        while time.monotonic() < deadline and not {"/slow/{n}", "/spin"} <= set(joined):
            for route in ("/slow/1", "/spin"):
                with urllib.request.urlopen(f"{base}{route}", timeout=10):
                    pass
            time.sleep(0.3)
            for stall in get_json(f"{base}/_loopsight/stalls", token="t")["stalls"]:
                if "check" in stall and stall["activity"]["kind"] == "request":
                    joined[stall["activity"]["route"]] = stall
        for route in ("/slow/2", "/spin"):  # check is done: these are logged with its word
            with urllib.request.urlopen(f"{base}{route}", timeout=10):
                pass
        time.sleep(0.3)
        out, err = _stop(proc)
    finally:
        _kill(proc)
    # A loaded machine may stall /fast too (its first call imports): not the routes under test.
    assert {"/slow/{n}", "/spin"} <= set(joined), joined
    seen = joined["/slow/{n}"]["check"]
    assert seen.startswith("seen by check: LS"), seen
    assert seen.endswith(f" served_app.py:{line_of(path, 'RUN-STALL')}")
    assert joined["/spin"]["check"].startswith("check does not see this call: run `loopsight")
    logged = [x for x in err.splitlines() if "/slow/{n}" in x and "; seen by check: LS" in x]
    assert logged, err
    assert [x for x in err.splitlines() if "/spin" in x and "; check does not see this call" in x]
    expected = {"/slow/{n}": "seen: " + seen.removeprefix("seen by check: "), "/spin": "not seen"}
    for route, cell in expected.items():
        (row,) = [x for x in out.splitlines() if f" {route} " in x]
        cells = [c.strip() for c in row.split("│") if c.strip()]
        # A busy machine may blame CPU starvation, which is no line to join: then no cell.
        assert cells[9:] == ([] if cells[8] == "<cpu-starved>" else [cell]), out
