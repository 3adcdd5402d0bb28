"""LS100: a configured blocking call in a coroutine runs in a thread (unsafe)."""

import legacy.client
import asyncio


async def fetch(key, ready):
    await ready.wait()
    return await asyncio.to_thread(legacy.client.fetch, key)  # configured as blocking
