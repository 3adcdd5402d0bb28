"""Shared helpers of the runtime tests: inline app modules, a browser, polling."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

TOKEN = "test-token"


def write_module(directory: Path, name: str, source: str) -> str:
    """Write ``source`` as ``<directory>/<name>.py``; return its path."""
    path = directory / f"{name}.py"
    path.write_text(textwrap.dedent(source))
    return str(path)


def line_of(path: str, marker: str) -> int:
    """1-based line number of the only line of ``path`` containing ``marker``."""
    hits = [i for i, line in enumerate(Path(path).read_text().splitlines(), 1) if marker in line]
    assert len(hits) == 1, (marker, hits)
    return hits[0]


def chromium_path() -> str | None:
    """The headless browser binary, if installed."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def get_json(url: str, token: str = TOKEN) -> Any:
    """GET ``url`` with the bearer token and decode JSON."""
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def wait_for_stalls(base: str, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
    """Poll the stalls endpoint until ``stall_count`` reaches ``count``; newest first."""
    deadline = time.monotonic() + timeout
    doc = get_json(f"{base}/_loopsight/stalls")
    while doc["stall_count"] < count and time.monotonic() < deadline:
        time.sleep(0.02)
        doc = get_json(f"{base}/_loopsight/stalls")
    stalls: list[dict[str, Any]] = doc["stalls"]
    return stalls


def starlette_test_client() -> Any:
    """Starlette's TestClient; importing it under plain httpx warns once (not our concern)."""
    with warnings.catch_warnings():
        from starlette.exceptions import StarletteDeprecationWarning

        warnings.simplefilter("ignore", StarletteDeprecationWarning)
        from starlette.testclient import TestClient
    return TestClient


def loopsight_run(*args: str, cwd: Path) -> subprocess.Popen[str]:
    """Start ``loopsight run ARGS`` in ``cwd``, its output captured as text."""
    return subprocess.Popen(
        [sys.executable, "-m", "loopsight", "run", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_ready(url: str, proc: subprocess.Popen[str]) -> None:
    """Poll ``url`` until it answers; fail if ``proc`` exits or 20 s pass."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.05)
    raise AssertionError("loopsight run did not start")


@contextmanager
def killed_on_exit(proc: subprocess.Popen[str]) -> Iterator[subprocess.Popen[str]]:
    """Yield ``proc``; kill it on the way out if it is still running (a failed test)."""
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def terminate(proc: subprocess.Popen[str]) -> tuple[str, str]:
    """SIGTERM ``proc`` (a graceful shutdown) and return its stdout and stderr."""
    proc.send_signal(signal.SIGTERM)
    return proc.communicate(timeout=30)
