"""A scripted HTTP/1.1 server on 127.0.0.1 in a thread: routes of known behaviour, and a log.

Routes (path segments): ``/ok``, ``/status/<code>``, ``/sleep/<ms>``, ``/bytes/<n>``,
``/chunked/<n>``, ``/eof/<n>`` (body delimited by the end of the connection), ``/noka`` (answers
with ``Connection: close``), ``/one-per-conn`` (answers the first request on a connection and
silently closes on the second), ``/close-mid`` (announces 100 bytes, sends 10, closes),
``/reset`` (RST), ``/hang`` (never answers), ``/stall-nth/<k>/<ms>`` (the k-th request of the run,
1-based, waits ms before answering), ``/garbage-nth/<k>`` (the k-th request gets non-HTTP bytes),
``/die-after/<k>`` (after the k-th response the server
stops listening and closes every connection: the target stops answering).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
import time
from dataclasses import dataclass, field


@dataclass
class Seen:
    """One request as the server saw it."""

    conn: int
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    arrived: float  # perf_counter in this process
    answered: float = 0.0  # when the response (or its first bytes) was written


@dataclass
class Log:
    """What the server saw, in order."""

    opened: list[float] = field(default_factory=list)  # connection accept times
    requests: list[Seen] = field(default_factory=list)


class ScriptedServer:
    """Start with ``with ScriptedServer() as server: server.url``; ``garbage=True`` speaks SSH."""

    def __init__(self, *, garbage: bool = False) -> None:
        self.garbage = garbage
        self.log = Log()
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._answered = 0
        self._dead = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ScriptedServer:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._start(), self._loop)
        future.result(timeout=5)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout=5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _stop(self) -> None:
        self._kill()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _kill(self) -> None:
        self._dead = True
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        conn = len(self.log.opened)
        self.log.opened.append(time.perf_counter())
        served = 0
        try:
            while not self._dead:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if line:
                        name, _, value = line.partition(":")
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                seen = Seen(conn, method, path, headers, body, time.perf_counter())
                self.log.requests.append(seen)
                if self.garbage:
                    writer.write(b"SSH-2.0-OpenSSH_9.6\r\n")
                    await writer.drain()
                    continue
                try:
                    keep = await self._answer(seen, writer, served, method == "HEAD")
                except asyncio.CancelledError:
                    return  # server stopping; a cancelled handler task would be logged as an error
                served += 1
                if not keep:
                    return
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _answer(
        self, seen: Seen, writer: asyncio.StreamWriter, served: int, head_only: bool
    ) -> bool:
        """Write the response for ``seen``; return whether the connection stays open."""
        parts = seen.path.strip("/").split("/")
        route, args = parts[0], [int(a) for a in parts[1:] if a]
        status, body, extra, keep = 200, b"hello", "", True
        if route == "status":
            status = args[0]
        elif route == "sleep":
            await asyncio.sleep(args[0] / 1000)
        elif route == "bytes":
            body = b"x" * args[0]
        elif route == "stall-nth" and len(self.log.requests) == args[0]:
            await asyncio.sleep(args[1] / 1000)
        elif route == "garbage-nth" and len(self.log.requests) == args[0]:
            seen.answered = time.perf_counter()
            writer.write(b"NOT HTTP AT ALL\r\n\r\n")
            await writer.drain()
            return True
        elif route == "noka":
            extra, keep = "Connection: close\r\n", False
        elif route == "one-per-conn" and served > 0:
            return False  # close without a byte, as a server does when its keep-alive expires
        elif route == "hang":
            await asyncio.sleep(3600)
        elif route == "reset":
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
            return False
        elif route == "close-mid":
            seen.answered = time.perf_counter()
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 10)
            await writer.drain()
            return False
        elif route == "eof":
            seen.answered = time.perf_counter()
            writer.write(b"HTTP/1.1 200 OK\r\n\r\n" + b"e" * args[0])
            await writer.drain()
            return False
        elif route == "chunked":
            chunks = b"".join(b"%x\r\n%s\r\n" % (size, b"c" * size) for size in (args[0], 1))
            seen.answered = time.perf_counter()
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            writer.write(chunks + b"0\r\n\r\n")
            await writer.drain()
            self._count()
            return True
        head = f"HTTP/1.1 {status} X\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode()
        seen.answered = time.perf_counter()
        writer.write(head if head_only else head + body)
        await writer.drain()
        self._count()
        if route == "die-after" and self._answered >= args[0]:
            self._kill()
            return False
        return keep

    def _count(self) -> None:
        self._answered += 1


def free_port() -> int:
    """A loopback port with nothing listening on it (a moment ago)."""
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
