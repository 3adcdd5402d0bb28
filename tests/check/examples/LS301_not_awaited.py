import asyncio


async def save(item):
    await asyncio.sleep(0)


async def handler(item):
    save(item)  # LS301 [async_function]
    asyncio.sleep(1)  # LS301
    await save(item)  # OK
    task = asyncio.create_task(save(item))  # OK
    await task


def sync_caller(item):
    save(item)  # LS301
