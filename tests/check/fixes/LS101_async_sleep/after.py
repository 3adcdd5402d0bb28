"""LS101: a sleep in a coroutine becomes `await asyncio.sleep` (safe; the import is added)."""

import time
from time import sleep as nap
import asyncio


async def poll(job):
    # wait before asking again
    await asyncio.sleep(0.5)  # the slow bit
    await asyncio.sleep(
        0.1,  # seconds
    )
    return await job.status()
