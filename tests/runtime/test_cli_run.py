"""``loopsight run module:app``: serves, prints each stall as it happens, summarises at exit."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from loopsight.server import free_port

from ._helpers import (
    get_json,
    killed_on_exit,
    line_of,
    loopsight_run,
    terminate,
    wait_ready,
    write_module,
)

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


NOT_APPS = """

NAME = "not an app"


def plain():
    return app
"""

# A plain ASGI app: no lifespan support, no routes, and it instruments itself.
PLAIN_APP = """
import time

import loopsight


async def app(scope, receive, send):
    if scope["type"] != "http":
        raise RuntimeError("no lifespan here")
    if scope["path"] == "/slow":
        time.sleep(0.1)  # PLAIN-STALL
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


app = loopsight.instrument(app, threshold_ms=40)
"""


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_run_prints_stalls_and_a_summary(tmp_path: Path, workers: int) -> None:
    path = write_module(tmp_path, "served_app", APP)
    port = free_port()
    extra = ["--workers", str(workers)] if workers > 1 else []
    proc = loopsight_run(
        "served_app:app", "--threshold-ms", "40", "--timing-headers", "--port", str(port),
        "--no-access-log", "--log-level", "warning", *extra, cwd=tmp_path,
    )  # fmt: skip
    with killed_on_exit(proc):
        base = f"http://127.0.0.1:{port}"
        wait_ready(f"{base}/fast", proc)
        for n in range(3):
            with urllib.request.urlopen(f"{base}/slow/{n}", timeout=10) as response:
                assert response.headers["x-process-time"]
        time.sleep(0.3)
        out, err = terminate(proc)
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
    write_module(tmp_path, "served_app", APP + NOT_APPS)
    for args, message in [
        (["nocolon"], "target must look like module:app"),
        (["missing_module:app"], "cannot import 'missing_module'"),
        (["served_app:nope"], "has no attribute 'nope'"),
        (["served_app:NAME"], "served_app:NAME is a str, not an ASGI app"),
        (["served_app:plain"], "served_app:plain is a plain function, not an ASGI app"),
        (["served_app:app", "--endpoints", "metrics"], "--endpoints needs --token"),
    ]:
        with killed_on_exit(loopsight_run(*args, cwd=tmp_path)) as proc:  # if served by mistake
            _, err = proc.communicate(timeout=30)
        assert proc.returncode == 2, (args, err)
        assert err.startswith("loopsight: error: ")
        assert message in err
        assert len(err.strip().splitlines()) == 1


def _serve_and_stop(proc: subprocess.Popen[str], base: str, paths: list[str]) -> tuple[str, str]:
    """Wait until ``proc`` serves, GET each path, SIGTERM it; its stdout and stderr."""
    with killed_on_exit(proc):
        wait_ready(f"{base}/ready", proc)
        for path in paths:
            with urllib.request.urlopen(f"{base}{path}", timeout=10):
                pass
        time.sleep(0.3)
        return terminate(proc)


@pytest.mark.slow
def test_run_summarises_a_plain_app_that_instruments_itself(tmp_path: Path) -> None:
    path = write_module(tmp_path, "plain_app", PLAIN_APP)
    port = free_port()
    proc = loopsight_run(
        "plain_app:app", "--threshold-ms", "40", "--port", str(port), "--no-access-log",
        cwd=tmp_path,
    )  # fmt: skip
    out, err = _serve_and_stop(proc, f"http://127.0.0.1:{port}", ["/slow", "/fast"])
    assert proc.returncode == 0, err
    # The summary survives an app without lifespan, with no traceback at exit.
    assert "Traceback" not in err, err
    assert "Exception ignored" not in err, err
    # The app's own instrument() call logs nothing more: each stall is printed once.
    printed = [x for x in err.splitlines() if "loop stalled" in x and "GET /slow" in x]
    assert len(printed) == 1, err
    assert printed[0].startswith("loopsight [")
    assert f"plain_app.py:{line_of(path, 'PLAIN-STALL')}" in printed[0]
    header = next(x for x in out.splitlines() if "requests" in x and "5xx" in x)
    row = next(x for x in out.splitlines() if "<unmatched>" in x)
    heads = [c.strip() for c in header.split("┃")[1:-1]]
    raw = dict(zip(heads, row.split("│")[1:-1], strict=True))
    # /ready, /slow and /fast
    assert raw["requests"].strip() == "3", out
    assert raw["stalls"].strip() == "1", out
    for column in ("requests", "5xx", "mean ms", "p95 ms", "stalls", "stalled ms"):
        # Right-aligned: the figure ends one padding space before the border.
        assert raw[column].endswith(raw[column].strip() + " "), (column, row)
        assert raw[column].startswith("  "), (column, row)
    assert raw["route"].startswith(" <unmatched>")


def test_run_on_a_taken_port_fails_in_one_line(tmp_path: Path) -> None:
    write_module(tmp_path, "served_app", APP)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = loopsight_run("served_app:app", "--port", str(port), cwd=tmp_path)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 2, err
    assert err.startswith(f"loopsight: error: cannot listen on 127.0.0.1:{port}: "), err
    assert len(err.strip().splitlines()) == 1, err
    assert out == ""


def test_run_help_says_uvicorn_options_pass_through(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "loopsight", "run", "--help"],
        cwd=tmp_path, capture_output=True, text=True, timeout=30,
        env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "passed to uvicorn unchanged" in " ".join(proc.stdout.split())


@pytest.mark.slow
def test_two_workers_one_scrape_counts_a_stall_once(tmp_path: Path) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    write_module(tmp_path, "served_app", APP)
    port = free_port()
    proc = loopsight_run(
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

    with killed_on_exit(proc):
        wait_ready(f"{base}/fast", proc)
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
        out, err = terminate(proc)
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
    proc = loopsight_run("served_app:app", "--workers", "0", cwd=tmp_path)
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
    proc = loopsight_run(
        "served_app:app", "--threshold-ms", "40", "--endpoints", "stalls", "--token", "t",
        "--port", str(port), "--no-access-log", "--log-level", "warning", cwd=tmp_path,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    with killed_on_exit(proc):
        wait_ready(f"{base}/fast", proc)
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
        out, err = terminate(proc)
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
