"""LS103 outside FastAPI: `await asyncio.to_thread(socket.getaddrinfo, ...)` (unsafe)."""

import socket
import asyncio


async def resolve(host, ready):
    await ready.wait()
    return await asyncio.to_thread(socket.getaddrinfo, host, 443)  # DNS lookup
