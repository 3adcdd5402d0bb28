"""LS100: a configured blocking call in a coroutine runs in a thread (unsafe)."""

import legacy.client


async def fetch(key, ready):
    await ready.wait()
    return legacy.client.fetch(key)  # configured as blocking
