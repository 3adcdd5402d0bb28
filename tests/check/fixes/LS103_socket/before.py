"""LS103 outside FastAPI: `await asyncio.to_thread(socket.getaddrinfo, ...)` (unsafe)."""

import socket


async def resolve(host, ready):
    await ready.wait()
    return socket.getaddrinfo(host, 443)  # DNS lookup
