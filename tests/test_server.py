from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest

from loopsight.errors import LoopsightError
from loopsight.server import UvicornServer

APP = """
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"pong"})
"""


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    (tmp_path / "pingapp.py").write_text(APP)
    return tmp_path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it has exited all the same.
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(")")[-1].split()[0] != "Z"


def _wait_gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


def test_serves_on_loopback_and_stops(app_dir: Path) -> None:
    with UvicornServer("pingapp:app", env={"PYTHONPATH": str(app_dir)}) as server:
        assert server.url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(server.url + "/", timeout=5) as response:
            assert response.read() == b"pong"
        pid = server.pid
        assert pid is not None
    assert _wait_gone(pid)
    assert server.pid is None


def test_stops_child_when_the_body_raises(app_dir: Path) -> None:
    pids: list[int | None] = []

    def failing_body() -> None:
        with UvicornServer("pingapp:app", env={"PYTHONPATH": str(app_dir)}) as server:
            pids.append(server.pid)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        failing_body()
    pid = pids[0]
    assert pid is not None
    assert _wait_gone(pid)


def test_bad_app_is_a_one_line_error(app_dir: Path) -> None:
    server = UvicornServer("pingapp:nope", env={"PYTHONPATH": str(app_dir)})
    with pytest.raises(LoopsightError) as info:
        server.start()
    message = str(info.value)
    assert "\n" not in message
    assert "pingapp:nope" in message
    assert "exited with code" in message
    assert server.pid is None


def test_child_dies_with_a_killed_parent(app_dir: Path, tmp_path: Path) -> None:
    # The parent is SIGKILLed and cannot clean up: the kernel must still stop the server.
    pid_file = tmp_path / "child.pid"
    script = textwrap.dedent(
        f"""
        import time
        from loopsight.server import UvicornServer
        server = UvicornServer("pingapp:app", env={{"PYTHONPATH": {str(app_dir)!r}}})
        server.start()
        open({str(pid_file)!r}, "w").write(str(server.pid))
        time.sleep(60)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 30
        while not pid_file.exists() or not pid_file.read_text():
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.05)
        child = int(pid_file.read_text())
        assert _alive(child)
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    assert _wait_gone(child)
