"""The pytest11 plugin, run in a child pytest on an inline test file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ._helpers import line_of, write_module

TESTS = """
import time
import warnings

import httpx
import pytest
from fastapi import FastAPI

import loopsight

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient


def make_app():
    app = FastAPI()

    @app.get("/slow/{n}")
    async def slow(n: int):
        time.sleep(0.12)  # GUARDED-STALL
        return {"n": n}

    @app.get("/fast")
    async def fast():
        return {}

    return loopsight.instrument(app, log_stalls=False)


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.loopsight(threshold_ms=50)
async def test_asgi_transport_stall_fails(anyio_backend):
    transport = httpx.ASGITransport(app=make_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.get("/slow/1")).status_code == 200


def test_testclient_stall_fails_with_fixture(loopsight_guard):
    with TestClient(make_app()) as client:
        assert client.get("/slow/2").status_code == 200


@pytest.mark.loopsight(threshold_ms=50)
def test_fast_routes_pass():
    with TestClient(make_app()) as client:
        for _ in range(20):
            assert client.get("/fast").status_code == 200


@pytest.mark.loopsight(threshold_ms=500)
def test_stall_under_a_higher_threshold_passes():
    with TestClient(make_app()) as client:
        assert client.get("/slow/3").status_code == 200


def test_unguarded_test_is_not_failed():
    with TestClient(make_app()) as client:
        assert client.get("/slow/4").status_code == 200
"""


@pytest.mark.slow
def test_plugin_fails_stalling_tests_with_route_and_culprit(tmp_path: Path) -> None:
    path = write_module(tmp_path, "test_guarded", TESTS)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", "-q", path],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120,
    )  # fmt: skip
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "2 failed, 3 passed" in out, out
    line = line_of(path, "# GUARDED-STALL")
    for test in ("test_asgi_transport_stall_fails", "test_testclient_stall_fails"):
        section = out.split(f"_ {test}")[1].split("\n_")[0]
        assert "event loop stalled 1 time(s) beyond" in section, section
        assert "in GET /slow/{n}" in section
        assert f"test_guarded.py:{line} in make_app.<locals>.slow: time.sleep(0.12)" in section
        assert "stack (innermost last):" in section
    assert "FAILED test_guarded.py::test_fast_routes_pass" not in out
    assert "PASSED test_guarded.py::test_unguarded_test_is_not_failed" in out
