"""LS110: a wait on a thread primitive in a coroutine runs in a thread (unsafe)."""

import concurrent.futures
import asyncio


async def collect(futures, gate):
    await gate.wait()
    # all of them, however long
    await asyncio.to_thread(concurrent.futures.wait, futures)
