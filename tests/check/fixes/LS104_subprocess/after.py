"""LS104: a subprocess in a coroutine runs in a thread (unsafe)."""

import asyncio
import subprocess


async def build(event: asyncio.Event):
    await event.wait()
    await asyncio.to_thread(subprocess.run, ["make", "all"], check=True)  # slow
