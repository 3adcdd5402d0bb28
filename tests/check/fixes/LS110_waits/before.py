"""LS110: a wait on a thread primitive in a coroutine runs in a thread (unsafe)."""

import concurrent.futures


async def collect(futures, gate):
    await gate.wait()
    # all of them, however long
    concurrent.futures.wait(futures)
