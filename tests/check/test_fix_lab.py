"""The lab's case 2, fixed by ``loopsight check --fix``, no longer holds the loop: served
in-process, a heartbeat keeps ticking through its request as it does through case 4's."""

from __future__ import annotations

import asyncio
import importlib.util
import shutil
import time
from pathlib import Path
from types import ModuleType

import httpx
import pytest
from fastapi import FastAPI

from loopsight.check import CheckConfig, run_check
from loopsight.check.fix import Status, fix_findings, write_fixes
from loopsight.lab import _scale
from loopsight.lab.routes import cases

SLEEP = 0.1  # the scale: each of the case's two 3 s calls takes 0.3 s


def _load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # the test serves the module; `check` never runs it
    return module


async def _longest_gap(module: ModuleType, route: str) -> float:
    """The longest the loop went without running a 5 ms heartbeat during one request."""
    app = FastAPI()
    app.include_router(module.router)
    gaps: list[float] = []
    done = asyncio.Event()

    async def heartbeat() -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now
            if done.is_set():
                return

    beating = asyncio.create_task(heartbeat())
    await asyncio.sleep(0)  # the heartbeat starts before the request
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://lab") as client:
        response = await client.get(route)
    done.set()
    await beating
    assert response.json() == {"message": "Hello World"}
    return max(gaps)


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_fixed_case2_leaves_the_loop_free_like_case4(
    anyio_backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cases.__file__ is not None
    shutil.copy(cases.__file__, tmp_path / "cases.py")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(_scale, "SCALE", SLEEP)
    findings = run_check(["."], jobs=1).findings
    report = write_fixes(fix_findings(findings, ["."], CheckConfig()))
    # one finding: the sleep in sync_io_heavy, reached from case 2 (its two calls are one site)
    assert [o.status for o in report.outcomes] == [Status.FIXED]
    fixed = _load(tmp_path / "cases.py", "fixed_lab_cases")

    blocked = await _longest_gap(cases, "/case2")
    after_fix = await _longest_gap(fixed, "/case2")
    offloaded = await _longest_gap(cases, "/case4")
    assert blocked >= 3 * SLEEP * 0.9  # the control: the unfixed route holds the loop
    assert after_fix < 3 * SLEEP / 2
    assert offloaded < 3 * SLEEP / 2
