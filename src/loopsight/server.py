"""Run an ASGI app under a real uvicorn server in a subprocess on loopback.

Used by ``loopsight lab``, ``loopsight run`` tests and benchmarks. The child never outlives us:
it is stopped in ``stop()`` / ``__exit__`` (also on Ctrl-C and on errors), and on Linux it gets
SIGTERM from the kernel if this process dies without cleaning up.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from types import TracebackType

from loopsight.errors import LoopsightError

__all__ = ["UvicornServer", "free_port"]

_LOOPBACK = "127.0.0.1"


def free_port(host: str = _LOOPBACK) -> int:
    """Return a TCP port on ``host`` that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    """Ask Linux to send SIGTERM to the child when the parent dies (PR_SET_PDEATHSIG)."""
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)


class UvicornServer:
    """A uvicorn subprocess serving ``app`` (``"module:attr"``) on a free loopback port.

    >>> with UvicornServer("loopsight.lab.app:app") as server:
    ...     print(server.url)
    """

    def __init__(
        self,
        app: str,
        *,
        factory: bool = False,
        env: Mapping[str, str] | None = None,
        extra_args: Sequence[str] = (),
        health_path: str = "/",
        startup_timeout: float = 30.0,
        log_level: str = "warning",
        host: str = _LOOPBACK,
    ) -> None:
        self.app = app
        self.factory = factory
        self.env = dict(env or {})
        self.extra_args = list(extra_args)
        self.health_path = health_path
        self.startup_timeout = startup_timeout
        self.log_level = log_level
        self.host = host
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: tempfile._TemporaryFileWrapper[bytes] | None = None

    @property
    def url(self) -> str:
        """Base URL of the running server, without a trailing slash."""
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        """Process id of the uvicorn child, or ``None`` when not running."""
        return self._proc.pid if self._proc is not None else None

    def _command(self) -> list[str]:
        cmd = [sys.executable, "-m", "uvicorn", self.app, "--host", self.host]
        cmd += ["--port", str(self.port), "--log-level", self.log_level, "--no-access-log"]
        if self.factory:
            cmd.append("--factory")
        return cmd + self.extra_args

    def log_tail(self, lines: int = 20) -> str:
        """The last ``lines`` lines the server printed (stdout and stderr)."""
        if self._log is None:
            return ""
        self._log.flush()
        with open(self._log.name, "rb") as fh:
            text = fh.read().decode("utf-8", "replace")
        return "\n".join(text.splitlines()[-lines:])

    def log_offset(self) -> int:
        """Where the server's log ends now, for ``log_from``."""
        if self._log is None:
            return 0
        self._log.flush()
        return os.path.getsize(self._log.name)

    def log_from(self, offset: int) -> str:
        """What the server printed since ``log_offset()`` returned ``offset``."""
        if self._log is None:
            return ""
        with open(self._log.name, "rb") as fh:
            fh.seek(offset)
            return fh.read().decode("utf-8", "replace")

    def start(self) -> None:
        """Start uvicorn and wait until it answers HTTP on ``health_path``."""
        for attempt in range(3):
            self.port = free_port(self.host)
            # Kept open for the server's lifetime; closed (and deleted) in stop().
            self._log = tempfile.NamedTemporaryFile(prefix="loopsight-", suffix=".log")  # noqa: SIM115
            env = {**os.environ, **self.env}
            self._proc = subprocess.Popen(
                self._command(),
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # Ctrl-C reaches us only; we stop the child ourselves
                preexec_fn=_die_with_parent,
            )
            try:
                self._wait_ready()
                return
            except LoopsightError:
                tail = self.log_tail()
                self.stop()
                # Another process may have taken the port between free_port() and bind().
                if "address already in use" in tail.lower() and attempt < 2:
                    continue
                raise

    def _wait_ready(self) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise LoopsightError(
                    f"uvicorn for {self.app} exited with code {self._proc.returncode} at start-up: "
                    + (self.log_tail(1) or "no output")
                )
            try:
                with urllib.request.urlopen(self.url + self.health_path, timeout=1.0):
                    return
            except urllib.error.HTTPError:
                return  # it answered HTTP, which is all we wait for
            except OSError:
                time.sleep(0.05)
        raise LoopsightError(
            f"uvicorn for {self.app} did not answer on {self.url} within {self.startup_timeout:g} s"
        )

    def stop(self, timeout: float = 10.0) -> int | None:
        """Stop the server (SIGTERM, then SIGKILL after ``timeout``); return its exit code."""
        proc, self._proc = self._proc, None
        code: int | None = None
        if proc is not None:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            code = proc.returncode
        if self._log is not None:
            with contextlib.suppress(OSError):
                self._log.close()
            self._log = None
        return code

    def __enter__(self) -> UvicornServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
