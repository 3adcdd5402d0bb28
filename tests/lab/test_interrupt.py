"""Ctrl-C during a lab run keeps what was measured, saves it and leaves no server behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def _lab_servers() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"loopsight.lab.app:app" in cmdline and b"uvicorn" in cmdline:
                pids.append(int(entry.name))
    return pids


def test_ctrl_c_keeps_partial_results(tmp_path: Path) -> None:
    before = set(_lab_servers())
    out = tmp_path / "report"
    # case2 at scale 0.05 would take 60 s: interrupt it after a few seconds.
    cmd = [sys.executable, "-m", "loopsight", "lab", "-s", "case2", "--scale", "0.05"]
    proc = subprocess.Popen(
        [*cmd, "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not set(_lab_servers()) - before:
            assert time.monotonic() < deadline, "lab server did not start"
            time.sleep(0.1)
        time.sleep(5.0)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, stderr
    assert "run cut short: case2: interrupted" in stdout
    data = json.loads((out / "lab.json").read_text())
    assert data["aborted"].startswith("case2: interrupted")
    (entry,) = data["scenarios"]
    # Some requests completed before the interrupt, and only those are counted.
    assert 0 < entry["measured"]["status"]["200"] < 200
    assert entry["ratio"] is None
    assert entry["loop_blocked_share"] is None
    deadline = time.monotonic() + 10
    while set(_lab_servers()) - before:
        assert time.monotonic() < deadline, "lab server left running"
        time.sleep(0.1)
    assert os.path.exists(out / "lab.png")
