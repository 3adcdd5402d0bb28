"""LS301: a coroutine called without `await` inside a coroutine gets its `await` (safe)."""

import asyncio


async def save(item):
    await asyncio.sleep(0)


async def handler(item):
    save(item)  # forgot the await
    asyncio.sleep(
        1,  # back off
    )
