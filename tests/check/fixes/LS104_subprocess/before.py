"""LS104: a subprocess in a coroutine runs in a thread (unsafe)."""

import asyncio
import subprocess


async def build(event: asyncio.Event):
    await event.wait()
    subprocess.run(["make", "all"], check=True)  # slow
