"""LS101: a sleep in a coroutine becomes `await asyncio.sleep` (safe; the import is added)."""

import time
from time import sleep as nap


async def poll(job):
    # wait before asking again
    time.sleep(0.5)  # the slow bit
    nap(
        0.1,  # seconds
    )
    return await job.status()
